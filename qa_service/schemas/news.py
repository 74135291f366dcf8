"""News in: article URLs to fetch and feeds to follow."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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
