"""Search: filters, retrieval modes and hits."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .common import NonBlank


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
