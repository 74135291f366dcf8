"""Documents: ingesting articles (JSON or uploaded files) and reading them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .common import DocId, NonBlank


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
