"""Summaries of stored documents, of what a query finds, or of given text."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .common import ModelInfo, NonBlank
from .search import SearchFilters

#: How a summary is asked for, and how it came out.
SummaryMode = Literal["auto", "extractive", "abstractive"]
SummaryKind = Literal["extractive", "abstractive"]


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
