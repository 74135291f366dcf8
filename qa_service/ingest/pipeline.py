"""The ingest pipeline: documents in, chunks and vectors stored, indexes updated at once.

``DocumentEncoder`` decides how a document becomes chunks and vectors (and re-embeds everything
when that changes); ``IngestPipeline`` validates a batch, skips what is unchanged, and commits
the rest in one write. The service, the jobs runner and the news desk all ingest through it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import DocumentNotFound, InvalidInput, LimitExceeded
from ..models.embedding import Embedder, Vectors
from ..observability import INGESTED
from ..schemas import DocumentIn, IngestResult, to_utc_iso
from ..storage.protocols import DocumentStore, IndexUpkeep
from ..storage.types import DocumentWrite, NewChunk, StoredDocument, TxHook, now_iso
from ..text.chunking import Chunk, chunk_text
from .stories import Filing, StoryBook, doc_vector
from .wire import Fingerprint, WireLinks

log = logging.getLogger(__name__)

#: Tokens kept free for the title prefixed to each chunk when embedding.
_TITLE_TOKENS = 32
_TITLE_CHARS = 200


def sha256_json(payload: Any) -> str:
    """A stable hash of a JSON-able value (content and index hashes, summary cache keys)."""
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def derive_doc_id(text: str) -> str:
    """The id of a document posted without one: stable for the same text."""
    return "doc-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def filing(doc: StoredDocument, vectors: Vectors | None) -> Filing:
    """What filing a document in its story needs, from its chunks' vectors (None: a
    metadata-only change, which keeps its story)."""
    vector = None if vectors is None else doc_vector(vectors)
    feed = doc.metadata.get("feed_id")
    return Filing(
        doc.id,
        doc.published_at or doc.created_at,
        doc.title,
        doc.text,
        vector,
        doc.source,
        feed if isinstance(feed, str) else None,
    )


def _filing(write: DocumentWrite) -> Filing:
    chunks = write.chunks
    if chunks is None:
        return filing(write.doc, None)
    vectors = np.stack([c.vector for c in chunks]) if chunks else np.zeros((0, 0), np.float32)
    return filing(write.doc, vectors)


class DocumentEncoder:
    """How a document becomes chunks and vectors: chunk size (within the embedder's window,
    room left for the title), titles, and the hash that says when a document must be re-embedded."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.chunk_tokens = min(
            settings.chunk_tokens,
            embedder.max_tokens - (_TITLE_TOKENS if settings.embed_titles else 0),
        )
        self.chunk_overlap = min(settings.chunk_overlap_tokens, self.chunk_tokens // 2)

    def config(self) -> dict[str, Any]:
        """What the stored chunks and vectors depend on; a change means re-chunk and re-embed."""
        return {
            "embedder": self.embedder.name,
            "chunk_tokens": self.chunk_tokens,
            "chunk_overlap": self.chunk_overlap,
            "embed_titles": self.settings.embed_titles,
        }

    def index_hash(self, text: str, title: str | None) -> str:
        return sha256_json(
            {"text": text, "title": title if self.settings.embed_titles else None} | self.config()
        )

    def chunk(self, text: str) -> list[Chunk]:
        return chunk_text(
            text,
            max_tokens=self.chunk_tokens,
            overlap_tokens=self.chunk_overlap,
            count_tokens=self.embedder.count_tokens,
        )

    def embed_text(self, title: str | None, chunk: str) -> str:
        if self.settings.embed_titles and title:
            return f"{title[:_TITLE_CHARS]}\n{chunk}"
        return chunk

    def embed_writes(
        self, items: list[tuple[StoredDocument, list[Chunk] | None]]
    ) -> tuple[list[DocumentWrite], Vectors]:
        """Embed the chunks of every item (one batch) and pair each chunk with its vector."""
        texts = [
            self.embed_text(doc.title, c.text) for doc, chunks in items for c in (chunks or [])
        ]
        vectors = self.embedder.embed(texts)
        writes: list[DocumentWrite] = []
        row = 0
        for doc, chunks in items:
            new_chunks = None
            if chunks is not None:
                new_chunks = [
                    NewChunk(c.index, c.start, c.end, vectors[row + i])
                    for i, c in enumerate(chunks)
                ]
                row += len(chunks)
            writes.append(DocumentWrite(doc, new_chunks))
        return writes, vectors

    def reindex_if_changed(self, store: DocumentStore) -> None:
        """Re-chunk and re-embed every document when the embedder or chunking changed.

        Runs before the indexes are opened; each batch commits on its own, so an interrupted
        re-index resumes where it stopped (documents already done have the new index hash).
        """
        config = json.dumps(self.config(), sort_keys=True)
        stored = store.get_meta("index_config")
        if stored is not None and stored != config and store.count_documents():
            log.warning("embedding or chunking settings changed: re-embedding all documents")
            offset = 0
            while docs := store.list_documents(100, offset)[0]:
                items: list[tuple[StoredDocument, list[Chunk] | None]] = []
                for d in docs:
                    index_hash = self.index_hash(d.text, d.title)
                    if d.index_hash != index_hash:
                        chunks = self.chunk(d.text)
                        doc = replace(d, index_hash=index_hash, chunk_count=len(chunks))
                        items.append((doc, chunks))
                store.write(self.embed_writes(items)[0])
                offset += len(docs)
        store.set_meta("index_config", config)


class IngestPipeline:
    """Validates, chunks, embeds and stores documents; thread-safe (one ingest at a time)."""

    def __init__(
        self,
        settings: Settings,
        encoder: DocumentEncoder,
        store: DocumentStore,
        index: IndexUpkeep,
        wire: WireLinks,
        stories: StoryBook | None = None,
    ) -> None:
        self.settings = settings
        self.encoder = encoder
        self.store = store
        self.index = index
        self.wire = wire
        #: Files every stored article in a story, in the documents' transaction (None: off).
        self.stories = stories
        #: Held while a batch is compared with the store and written (and by the news desk).
        self.lock = threading.Lock()

    def write(
        self, items: list[tuple[StoredDocument, list[Chunk] | None]], after: TxHook | None = None
    ) -> None:
        """Embed, commit everything in one transaction (the documents, their wire links and
        stories, then ``after``), then update the indexes at once."""
        writes, vectors = self.encoder.embed_writes(items)
        prints = [Fingerprint.of(d.id, d.text) for d, c in items if c is not None]
        if self.stories is not None:
            articles = [_filing(w) for w in writes]
            after = self.stories.file_hook(articles, self.wire.copies_in, after)
        after = self.wire.link_hook(prints, after)
        with self.index.lock:
            removed, added = self.store.write(writes, after)
            self.index.apply(removed, added, vectors)
        self.index.maybe_save()

    def validate_batch(self, docs: list[DocumentIn], max_documents: int | None = None) -> list[str]:
        s = self.settings
        limit = max_documents or s.max_documents_per_request
        if len(docs) > limit:
            raise LimitExceeded(
                f"{len(docs)} documents in one request; the limit is {limit}. Split the batch"
                " or post it as a job (?async=true).",
                limit=limit,
            )
        ids: list[str] = []
        for i, d in enumerate(docs):
            if len(d.text) > s.max_text_chars:
                raise LimitExceeded(
                    f"documents[{i}].text has {len(d.text)} characters; the limit is "
                    f"{s.max_text_chars}.",
                    limit=s.max_text_chars,
                )
            ids.append(d.id or derive_doc_id(d.text))
        seen: set[str] = set()
        for i, doc_id in enumerate(ids):
            if doc_id in seen:
                raise InvalidInput(
                    f"documents[{i}] has the id {doc_id!r} of an earlier document in the same "
                    "request; send each document once."
                )
            seen.add(doc_id)
        return ids

    def ingest(
        self,
        docs: list[DocumentIn],
        on_commit: Callable[[list[IngestResult]], TxHook] | None = None,
        *,
        max_documents: int | None = None,
    ) -> list[IngestResult]:
        """Create, update or skip each document; all of it or none of it is stored.

        Unchanged documents cost no embedding work; a metadata-only change re-embeds nothing
        unless the title (which is embedded with each chunk) changed. ``on_commit(results)``
        returns a hook run in the same transaction as the documents (job progress).
        """
        ids = self.validate_batch(docs, max_documents)
        with self.lock:
            existing = self.store.get_documents(ids)
            now = now_iso()
            results: list[IngestResult] = []
            items: list[tuple[StoredDocument, list[Chunk] | None]] = []
            for doc_id, d in zip(ids, docs, strict=True):
                published = to_utc_iso(d.published_at) if d.published_at else None
                fields = {
                    "text": d.text,
                    "title": d.title,
                    "url": d.url,
                    "published_at": published,
                    "source": d.source,
                    "metadata": d.metadata,
                }
                content_hash = sha256_json(fields)
                index_hash = self.encoder.index_hash(d.text, d.title)
                old = existing.get(doc_id)
                if old is not None and old.content_hash == content_hash:
                    results.append(
                        IngestResult(id=doc_id, status="unchanged", chunks=old.chunk_count)
                    )
                    continue
                chunks = None
                if old is None or old.index_hash != index_hash:
                    chunks = self.encoder.chunk(d.text)
                chunk_count = len(chunks) if chunks is not None else (old.chunk_count if old else 0)
                stored = StoredDocument(
                    id=doc_id,
                    text=d.text,
                    title=d.title,
                    url=d.url,
                    published_at=published,
                    source=d.source,
                    metadata=d.metadata,
                    content_hash=content_hash,
                    index_hash=index_hash,
                    chunk_count=chunk_count,
                    created_at=old.created_at if old else now,
                    updated_at=now,
                )
                items.append((stored, chunks))
                status = "created" if old is None else "updated"
                results.append(IngestResult(id=doc_id, status=status, chunks=chunk_count))
            hook = on_commit(results) if on_commit else None
            if items:
                self.write(items, hook)
            elif hook is not None:
                self.store.in_transaction(hook)
        for r in results:
            INGESTED.labels(r.status).inc()
        return results

    def delete(self, doc_id: str) -> None:
        """Delete a document; it is gone from every result as soon as this returns."""
        with self.lock, self.index.lock:
            removed = self.store.delete_document(doc_id)
            if removed is None:
                raise DocumentNotFound(doc_id)
            self.index.apply(removed, [], self.encoder.embedder.embed([]))
        self.wire.forget(doc_id)
        if self.stories is not None:
            self.stories.forget(doc_id)
        self.index.maybe_save()
