"""Request and response types of the HTTP API (they are the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@~+-]{0,199}$"


def to_utc_iso(value: datetime) -> str:
    """ISO 8601 in UTC with seconds; naive times are taken as UTC. Sorts as text."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or whitespace only")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]
DocId = Annotated[str, Field(pattern=DOC_ID_PATTERN, examples=["syria-hama-counteroffensive"])]


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error response."""

    type: str = Field(examples=["/problems/document-not-found"])
    title: str = Field(examples=["Document not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["No document with id 'x'."])
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        None, description="Per-field validation errors, when the request body was invalid."
    )

    model_config = ConfigDict(extra="allow")


# --- documents --------------------------------------------------------------------------------
class DocumentIn(BaseModel):
    """An article to ingest. Without ``id`` the id is derived from the text (stable)."""

    model_config = ConfigDict(extra="forbid")

    id: DocId | None = Field(
        None, description="Letters, digits and . _ : @ ~ + -, up to 200 characters."
    )
    text: NonBlank = Field(description="The article body (plain text).")
    title: str | None = Field(None, max_length=1000)
    url: str | None = Field(None, max_length=4096)
    published_at: datetime | None = Field(
        None, description="ISO 8601 date or date-time; times without a zone are UTC."
    )
    source: str | None = Field(None, max_length=200, description="Publisher or feed name.")
    metadata: dict[str, Any] = Field(default_factory=dict)


class IngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    documents: list[DocumentIn] = Field(min_length=1)


class IngestResult(BaseModel):
    id: str
    status: Literal["created", "updated", "unchanged"]
    chunks: int


class IngestResponse(BaseModel):
    documents: list[IngestResult]


class UploadFailure(BaseModel):
    filename: str
    reason: str


class UploadResponse(BaseModel):
    documents: list[IngestResult]
    failed: list[UploadFailure]


class JobFailure(BaseModel):
    index: int = Field(description="Position of the document in the posted batch.")
    id: str | None
    reason: str


class JobInfo(BaseModel):
    """An asynchronous ingestion job; its counts are exactly what has been stored so far."""

    id: str
    status: Literal["queued", "running", "done"]
    total: int
    done: int
    created: int
    updated: int
    unchanged: int
    failed: int
    failures: list[JobFailure]
    created_at: str
    updated_at: str


class JobList(BaseModel):
    jobs: list[JobInfo]
    total: int


class DocumentInfo(BaseModel):
    id: str
    title: str | None
    url: str | None
    published_at: str | None
    source: str | None
    metadata: dict[str, Any]
    chunks: int
    chars: int
    created_at: str
    updated_at: str


class DocumentDetail(DocumentInfo):
    text: str


class DocumentList(BaseModel):
    documents: list[DocumentInfo]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last page.")


# --- search -----------------------------------------------------------------------------------
class SearchFilters(BaseModel):
    """Restrict retrieval; applied before ``top_k`` is cut, so top_k results still come back."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] | None = Field(None, min_length=1, max_length=10_000)
    source: str | list[str] | None = None
    published_after: datetime | None = None
    published_before: datetime | None = None

    @field_validator("source")
    @classmethod
    def _sources_not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and not value:
            raise ValueError("must name at least one source")
        return value


#: Dense, keyword (BM25) or both fused; the storage backends take the same values.
SearchMode = Literal["hybrid", "dense", "keyword"]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: NonBlank = Field(examples=["Assad precondition normalization Turkey"])
    top_k: int = Field(5, ge=1, le=1000, description="At most QA_MAX_TOP_K (default 50).")
    filters: SearchFilters | None = None
    mode: SearchMode = Field(
        "hybrid", description="hybrid = dense + BM25 fused by reciprocal rank (default)."
    )


class SearchHit(BaseModel):
    doc_id: str
    title: str | None
    url: str | None
    chunk_id: int
    start: int = Field(description="Character offset of the chunk in the document text.")
    end: int
    text: str = Field(description="Always equal to document_text[start:end].")
    score: float = Field(
        description="Fused rank score in [0, 1]; 1 = ranked first by every retriever."
    )
    dense_score: float | None = Field(None, description="Cosine similarity, when dense found it.")
    keyword_score: float | None = Field(None, description="BM25 score, when BM25 found it.")
    also_in: list[str] = Field(
        default_factory=list,
        description="Wire copies (other outlets' documents) holding the same passage, folded "
        "into this result.",
    )


class SearchResponse(BaseModel):
    results: list[SearchHit]


# --- answers --------------------------------------------------------------------------------
AskMode = Literal["auto", "extractive", "generative"]
#: How a summary is asked for, and how it came out.
SummaryMode = Literal["auto", "extractive", "abstractive"]
SummaryKind = Literal["extractive", "abstractive"]


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: NonBlank = Field(examples=["What is Assad's precondition for normalizing ties?"])
    top_k: int = Field(
        5, ge=1, le=1000, description="Chunks retrieved as evidence; at most QA_MAX_TOP_K (50)."
    )
    filters: SearchFilters | None = None
    mode: AskMode = Field(
        "auto",
        description="auto: a generated answer when a generator is loaded and its answer passes "
        "verification, else extractive. extractive: the best evidence sentences. generative: "
        "ask the generator (still verified; falls back to extractive when it fails).",
    )
    stream: bool = Field(False, description="Server-Sent Events: delta, reset, citations, done.")


class Citation(BaseModel):
    id: int = Field(description="The number used in the answer's [n] markers.")
    doc_id: str
    title: str | None
    url: str | None
    start: int = Field(description="Character offset of the quote in the document text.")
    end: int
    quote: str = Field(description="Exactly document_text[start:end]: one sentence.")
    score: float


class RelatedPassage(BaseModel):
    """A passage that came closest, returned when the question is not answered."""

    doc_id: str
    title: str | None
    start: int
    end: int
    quote: str
    score: float


class ModelInfo(BaseModel):
    embedding: str
    generator: str | None
    reader: str | None = Field(None, description="Scores which sentence answers, if any does.")
    auto_mode: Literal["generative", "extractive"] = Field(
        "extractive",
        description="What mode=auto does with this generator: only an instruction-tuned "
        "(chat) model phrases answers; with a base model auto answers extractively.",
    )


class ShortAnswer(BaseModel):
    """The reader's shortest answer inside the first cited sentence ("12 miles")."""

    text: str
    citation: int = Field(description="The id of the citation whose sentence holds it.")
    doc_id: str
    start: int
    end: int


class AskResponse(BaseModel):
    answer: str
    answerable: bool
    citations: list[Citation]
    grounding: Literal["generated", "extractive", "none"] = Field(
        description="generated: phrased by the generator and verified against its citations; "
        "extractive: copied from the evidence; none: not answered."
    )
    short_answer: ShortAnswer | None = Field(
        None, description="The exact words that answer, inside the first citation (reader)."
    )
    fallback_reason: str | None = Field(
        None, description="Why a generated answer was not used, when one was attempted."
    )
    related: list[RelatedPassage] = Field(
        default_factory=list, description="Closest passages, only when not answerable."
    )
    model: ModelInfo
    timings_ms: dict[str, float]


# --- summaries ------------------------------------------------------------------------------
class SummarizeRequest(BaseModel):
    """Exactly one of ``doc_id``, ``doc_ids``, ``query`` or ``text``."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str | None = Field(None, min_length=1, description="One stored document.")
    doc_ids: list[str] | None = Field(
        None, min_length=1, description="Several stored documents (near-duplicates merged)."
    )
    query: NonBlank | None = Field(None, description="Summarize the articles this query finds.")
    filters: SearchFilters | None = Field(None, description="With query only.")
    top_k: int = Field(
        5, ge=1, le=1000, description="With query: chunks retrieved; at most QA_MAX_TOP_K (50)."
    )
    text: NonBlank | None = Field(None, description="Ad-hoc text (not stored).")
    max_sentences: int = Field(3, ge=1, le=20)
    mode: SummaryMode = Field(
        "auto",
        description="auto: extractive on a CPU, abstractive (verified) when the generator runs "
        "on a GPU. abstractive: rewrite each selected sentence, keeping the original where a "
        "rewrite is not supported by it.",
    )
    stream: bool = Field(False, description="Server-Sent Events: delta, summary, done.")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SummarizeRequest:
        given = [
            name
            for name in ("doc_id", "doc_ids", "query", "text")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of doc_id, doc_ids, query or text"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.filters is not None and self.query is None:
            raise ValueError("filters apply to query summaries only")
        return self


class SummaryCitation(BaseModel):
    doc_id: str | None = Field(description="null for ad-hoc text.")
    start: int
    end: int
    quote: str = Field(description="Exactly text[start:end] of the document (or given text).")


class SummarySentenceOut(BaseModel):
    text: str
    citations: list[SummaryCitation]
    rewritten: bool = Field(description="True when the generator's (verified) rewrite is shown.")


class SummarizeResponse(BaseModel):
    summary: str
    sentences: list[SummarySentenceOut]
    mode: SummaryKind
    doc_ids: list[str]
    model: ModelInfo
    timings_ms: dict[str, float]
    fallback_reason: str | None = None
    sentences_considered: int = Field(description="Sentences of the sources that were scored.")
    cached: bool = False


# --- health -----------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready", "starting", "failed"]
    documents: int | None = None
    chunks: int | None = None
    index: dict[str, Any] | None = Field(
        None, description="Vector index kind and size, BM25 size: they equal `chunks` when in step."
    )
    models: dict[str, str | None] | None = None
    generator: dict[str, Any] | None = Field(
        None,
        description="A generator server's last probe (QA_GENERATOR=openai): reachable, "
        "model_present, chat. Informational: a server that is down costs the phrasing only.",
    )
    detail: str | None = None


# --- URLs and feeds ---------------------------------------------------------------------------
UrlStatus = Literal["created", "updated", "unchanged", "failed"]


class UrlIngestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    urls: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        min_length=1,
        description="http(s) URLs of article pages; at most QA_MAX_URLS_PER_REQUEST (50).",
        examples=[["https://example.com/news/harbour-reopens"]],
    )


class UrlResult(BaseModel):
    """What became of one URL (or feed entry); one that fails never fails the others."""

    url: str
    status: UrlStatus
    id: str | None = Field(
        None, description="The document that holds the article (for a copy: the earlier one)."
    )
    chunks: int = 0
    title: str | None = None
    duplicate_of: str | None = Field(
        None,
        description="Set when the same text is already stored under another id or URL: that "
        "document's id. Nothing new is stored (status unchanged).",
    )
    near_duplicate_of: str | None = Field(
        None, description="A stored wire copy of the same story this one was linked to."
    )
    error: str | None = Field(
        None,
        description="Why it failed: bad-url, refused, timeout, too-large, http-error, not-html, "
        "no-text, redirects, network, invalid.",
    )
    reason: str | None = Field(None, description="The failure in words, e.g. 'HTTP 404 Not Found'.")


class UrlIngestResponse(BaseModel):
    results: list[UrlResult]


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=4096, examples=["https://example.com/rss.xml"])
    interval_minutes: float | None = Field(
        None,
        gt=0,
        le=7 * 24 * 60,
        description="Minutes between polls (default QA_FEED_DEFAULT_INTERVAL_MINUTES = 30; at "
        "least QA_FEED_MIN_INTERVAL_MINUTES = 5).",
    )


class FeedInfo(BaseModel):
    """A followed feed and what polling it has done so far."""

    id: str
    url: str
    title: str | None
    interval_minutes: float
    status: Literal["pending", "ok", "not_modified", "error"] = Field(
        description="Outcome of the last poll (pending: not polled yet)."
    )
    last_error: str | None
    consecutive_errors: int = Field(description="Polls failed in a row (each doubles the wait).")
    last_fetch_at: str | None
    next_fetch_at: str | None
    entries_seen: int
    entries_ingested: int = Field(description="Entries stored (or found already stored).")
    entries_duplicate: int = Field(description="Entries whose text another document holds.")
    entries_failed: int = Field(description="Entries that could not be fetched or read.")
    created_at: str


class FeedList(BaseModel):
    feeds: list[FeedInfo]
    total: int
