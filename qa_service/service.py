"""QAService: composes store, embedder, indexes and generator into the operations the API offers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import __version__
from .answer.answering import Answered, Answerer, AnswerEvents, answered
from .answer.options import AskOptions, to_filters
from .answer.summarizing import SourceText, Summarizer, Summary, SummarySentence
from .config import Settings
from .errors import DocumentNotFound, InvalidInput, LimitExceeded, NotFound
from .ingest.jobs import JobRunner
from .ingest.loaders import LoadError, load_bytes
from .ingest.news import NewsDesk
from .ingest.pipeline import DocumentEncoder, IngestPipeline, sha256_json
from .ingest.stories import StoryBook
from .ingest.wire import FoldingSearcher, WireLinks
from .models.generation import CountsTokens, ReportsHealth
from .models.loading import Models
from .observability import INGESTED, MODEL_LATENCY
from .schemas import (
    AskResponse,
    DocumentDetail,
    DocumentIn,
    DocumentInfo,
    DocumentList,
    IngestResult,
    JobInfo,
    JobList,
    ModelInfo,
    SearchFilters,
    SearchHit,
    SummarizeRequest,
    SummarizeResponse,
    SummaryCitation,
    SummarySentenceOut,
    UploadFailure,
    UploadResponse,
)
from .storage.factory import open_search, open_store
from .storage.protocols import DocumentStore, SearchIndex
from .storage.types import SearchMode, StoredDocument, TxHook
from .stories import StoryDesk

log = logging.getLogger(__name__)


def _info(doc: StoredDocument) -> dict[str, Any]:
    return {
        "id": doc.id,
        "title": doc.title,
        "url": doc.url,
        "published_at": doc.published_at,
        "source": doc.source,
        "metadata": doc.metadata,
        "chunks": doc.chunk_count,
        "chars": len(doc.text),
        "created_at": doc.created_at,
        "updated_at": doc.updated_at,
    }


class QAService:
    """The core of qa-service. Thread-safe; routes call it from worker threads."""

    def __init__(self, settings: Settings, models: Models) -> None:
        self.settings = settings
        self.models = models
        self.embedder = models.embedder
        self.encoder = DocumentEncoder(settings, self.embedder)
        self.store: DocumentStore = open_store(settings, self.embedder.dim)
        self.encoder.reindex_if_changed(self.store)  # before the index opens: it reads the chunks
        #: The search index: its upkeep side goes to ingestion, its query side behind ``searcher``.
        self.index: SearchIndex = open_search(
            settings, self.store, dim=self.embedder.dim, signature=self.embedder.name
        )
        self.wire = WireLinks(settings.db_path, settings.wire_threshold)
        # Wire copies: search and answers show a passage that several outlets carry once.
        self.searcher = FoldingSearcher(self.index, self.wire)
        #: Which article is in which story (None with QA_STORIES=false).
        self.stories = (
            StoryBook(
                settings.db_path,
                window_days=settings.story_window_days,
                similarity=settings.story_similarity,
                name_similarity=settings.story_name_similarity,
            )
            if settings.stories
            else None
        )
        self.answerer = Answerer(
            settings,
            self.embedder,
            self.store,
            self.searcher,
            models.generator,
            models.reader,
            stories=self.stories,
        )
        self.summarizer = Summarizer(self.embedder, models.generator)
        self.pipeline = IngestPipeline(
            settings, self.encoder, self.store, self.index, self.wire, self.stories
        )
        self._story_desk = StoryDesk(self.stories, self.store) if self.stories else None
        self.news = NewsDesk(self.pipeline)  # URLs and feeds
        self.jobs = JobRunner(self.pipeline)  # last: its thread starts once the rest is in place

    def close(self) -> None:
        self.news.close()
        self.jobs.close()
        self.index.close()
        self.store.close()
        self.wire.close()
        if self.stories is not None:
            self.stories.close()

    # --- ingestion ----------------------------------------------------------------------------
    def ingest(
        self,
        docs: list[DocumentIn],
        on_commit: Callable[[list[IngestResult]], TxHook] | None = None,
        *,
        max_documents: int | None = None,
    ) -> list[IngestResult]:
        """Create, update or skip each document; all of it or none of it is stored."""
        return self.pipeline.ingest(docs, on_commit, max_documents=max_documents)

    def submit_job(self, docs: list[DocumentIn]) -> JobInfo:
        """Accept a large batch for background ingestion; returns at once (HTTP 202). A document
        that cannot be stored (over a limit) is reported in the job's failures."""
        limit = self.settings.max_job_documents
        if len(docs) > limit:
            raise LimitExceeded(
                f"{len(docs)} documents in one job; the limit is {limit}.", limit=limit
            )
        return JobInfo(**self.jobs.submit(docs))

    def get_job(self, job_id: str) -> JobInfo:
        job = self.store.jobs.get(job_id)
        if job is None:
            raise NotFound(f"No job with id {job_id!r}.", job_id=job_id)
        return JobInfo(**job)

    def list_jobs(self, limit: int, offset: int) -> JobList:
        jobs, total = self.store.jobs.page(limit, offset)
        return JobList(jobs=[JobInfo(**j) for j in jobs], total=total)

    def ingest_files(self, files: list[tuple[str, bytes]]) -> UploadResponse:
        """Ingest uploaded files; a file that can't be read is reported and skipped."""
        docs: list[DocumentIn] = []
        failed: list[UploadFailure] = []
        for name, data in files:
            try:
                found = load_bytes(name, data)
            except LoadError as e:
                failed.append(UploadFailure(filename=name, reason=str(e)))
                continue
            if not found:
                failed.append(UploadFailure(filename=name, reason="no documents in the file"))
            docs.extend(found)
        if not docs:
            reasons = "; ".join(f"{f.filename}: {f.reason}" for f in failed)
            raise InvalidInput(f"No document could be read from the upload ({reasons}).")
        results = self.ingest(docs)
        INGESTED.labels("failed").inc(len(failed))
        return UploadResponse(documents=results, failed=failed)

    # --- documents ----------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> DocumentDetail:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise DocumentNotFound(doc_id)
        return DocumentDetail(**_info(doc), text=doc.text)

    def list_documents(self, limit: int, offset: int) -> DocumentList:
        docs, total = self.store.list_documents(limit, offset)
        next_offset = offset + len(docs) if offset + len(docs) < total else None
        return DocumentList(
            documents=[DocumentInfo(**_info(d)) for d in docs],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=next_offset,
        )

    def delete_document(self, doc_id: str) -> None:
        """Delete a document; it is gone from every result as soon as this returns."""
        self.pipeline.delete(doc_id)

    # --- search -------------------------------------------------------------------------------
    def check_query(self, query: str, field: str = "query") -> str:
        query = query.strip()
        if not query:
            raise InvalidInput(f"{field} must not be empty")
        if len(query) > self.settings.max_query_chars:
            raise LimitExceeded(
                f"{field} has {len(query)} characters; the limit is "
                f"{self.settings.max_query_chars}.",
                limit=self.settings.max_query_chars,
            )
        return query

    def check_top_k(self, top_k: int) -> int:
        if not 1 <= top_k <= self.settings.max_top_k:
            raise LimitExceeded(
                f"top_k must be between 1 and {self.settings.max_top_k}",
                limit=self.settings.max_top_k,
            )
        return top_k

    def search(
        self,
        query: str,
        top_k: int = 5,
        filters: SearchFilters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[SearchHit]:
        query = self.check_query(query)
        top_k = self.check_top_k(top_k)
        if mode == "keyword":  # no embedding needed
            qvec = np.zeros(self.embedder.dim, dtype=np.float32)
        else:
            qvec = self.embedder.embed([query])[0]
        folded = self.searcher.search_folded(query, qvec, top_k, to_filters(filters), mode)
        return [
            SearchHit(
                doc_id=h.chunk.doc_id,
                title=h.chunk.title,
                url=h.chunk.url,
                chunk_id=h.chunk.id,
                start=h.chunk.start,
                end=h.chunk.end,
                text=h.chunk.text,
                score=round(h.score, 6),
                dense_score=None if h.dense_score is None else round(h.dense_score, 6),
                keyword_score=None if h.keyword_score is None else round(h.keyword_score, 6),
                also_in=also_in,
            )
            for h, also_in in folded
        ]

    # --- answers ------------------------------------------------------------------------------
    @property
    def model_info(self) -> ModelInfo:
        """The models that answer here (``/v1/models``, every response's ``model``)."""
        return self.answerer.model_info

    def ask(self, question: str, options: AskOptions | None = None) -> AskResponse:
        """A grounded answer with sentence-level citations, or a plain "not in the articles"."""
        return answered(self.ask_events(question, options)).response

    def ask_events(self, question: str, options: AskOptions | None = None) -> AnswerEvents:
        """The answer as (event, text) pairs, ``delta`` and ``reset``, then the ``Answered``
        with the response and the evidence and gate behind it (``answering.answered``).

        Validates at once, so a bad question raises before a stream starts. The text of the
        ``delta`` events after the last ``reset`` is the final answer; closing the events
        stops the answer.
        """
        options = options or AskOptions()
        question = self.check_query(question, "question")
        self.check_top_k(options.top_k)
        return _observed(self.answerer.run(question, options))

    # --- summaries ----------------------------------------------------------------------------
    def _summary_sources(self, req: SummarizeRequest) -> list[SourceText]:
        s = self.settings
        if req.text is not None:
            if len(req.text) > s.max_text_chars:
                raise LimitExceeded(
                    f"text has {len(req.text)} characters; the limit is {s.max_text_chars}.",
                    limit=s.max_text_chars,
                )
            return [SourceText(None, req.text, sha256_json(req.text))]
        if req.query is not None:
            hits = self.search(req.query, req.top_k, req.filters)
            # Folded wire copies come back in: the summary cites every outlet that carries it.
            found = (d for h in hits for d in (h.doc_id, *h.also_in))
            ids = list(dict.fromkeys(found))[: s.max_summary_docs]
        else:
            ids = [req.doc_id] if req.doc_id is not None else list(dict.fromkeys(req.doc_ids or []))
            if len(ids) > s.max_summary_docs:
                raise LimitExceeded(
                    f"{len(ids)} documents requested; one summary covers at most "
                    f"{s.max_summary_docs} (QA_MAX_SUMMARY_DOCS).",
                    limit=s.max_summary_docs,
                )
        docs = self.store.get_documents(ids)
        missing = [i for i in ids if i not in docs]
        if len(missing) == 1:
            raise DocumentNotFound(missing[0])
        if missing:
            raise NotFound(f"No documents with ids {missing}.", doc_ids=missing)
        return [SourceText(i, docs[i].text, docs[i].content_hash) for i in ids]

    def summarize_events(
        self, req: SummarizeRequest
    ) -> tuple[list[str] | None, Iterator[SummarySentence | Summary]]:
        """Validate and resolve the sources now; the iterator yields sentences, then the
        Summary (for streaming). The doc ids are None for ad-hoc text."""
        sources = self._summary_sources(req)
        events = self.summarizer.stream(
            sources, max_sentences=req.max_sentences, mode=req.mode, query=req.query
        )
        doc_ids = None if req.text is not None else [str(src.doc_id) for src in sources]
        return doc_ids, events

    def summary_response(self, doc_ids: list[str] | None, summary: Summary) -> SummarizeResponse:
        sentences = [
            SummarySentenceOut(
                text=s.text,
                rewritten=s.rewritten,
                citations=[
                    SummaryCitation(doc_id=c.doc_id, start=c.start, end=c.end, quote=c.quote)
                    for c in s.citations
                ],
            )
            for s in summary.sentences
        ]
        text = " ".join(s.text for s in summary.sentences)
        if not sentences:
            text = (
                "No ingested article matches the query."
                if doc_ids == []
                else "There is no complete sentence to summarize."
            )
        return SummarizeResponse(
            summary=text,
            sentences=sentences,
            mode=summary.mode,
            doc_ids=doc_ids or [],
            model=self.model_info,
            timings_ms={k: round(v, 1) for k, v in summary.timings.items()},
            fallback_reason=summary.fallback_reason,
            sentences_considered=summary.sentences_considered,
            cached=summary.cached,
        )

    def summarize(self, req: SummarizeRequest) -> SummarizeResponse:
        """A summary of stored documents, of what a query finds, or of ad-hoc text."""
        doc_ids, events = self.summarize_events(req)
        summary = None
        for item in events:
            if isinstance(item, Summary):
                summary = item
        assert summary is not None
        return self.summary_response(doc_ids, summary)

    # --- stories ------------------------------------------------------------------------------
    @property
    def story_desk(self) -> StoryDesk:
        """The stories, or a 404 that says they are off."""
        if self._story_desk is None:
            raise NotFound("Stories are off on this server (QA_STORIES=false).")
        return self._story_desk

    # --- status -------------------------------------------------------------------------------
    def count_tokens(self, texts: list[str]) -> list[int]:
        """Tokens of each text in the generator's tokenizer; the embedder's where none is loaded
        in this process (``QA_GENERATOR=none``, a generator server)."""
        generator = self.answerer.generator
        counts = generator.count_tokens(texts) if isinstance(generator, CountsTokens) else None
        return list(counts) if counts is not None else self.embedder.count_tokens(texts)

    def _generator_health(self) -> dict[str, Any] | None:
        """A generator server's cached probe (never waits for the server)."""
        generator = self.answerer.generator
        return generator.health() if isinstance(generator, ReportsHealth) else None

    def status(self) -> dict[str, Any]:
        index = self.index.status()
        return {
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "index": index,
            "models": self.model_info.model_dump(),
            "generator": self._generator_health(),
            "version": __version__,
        }


def _observed(events: AnswerEvents) -> AnswerEvents:
    """The events, recording the model latencies of the final answer as it passes."""
    try:
        for item in events:
            if isinstance(item, Answered):
                timings = item.response.timings_ms
                for stage in ("retrieve", "generate"):
                    if timings.get(stage):
                        MODEL_LATENCY.labels(stage).observe(timings[stage] / 1000)
            yield item
    finally:
        # a client that goes away stops the answer (and its generator) now
        events.close()
