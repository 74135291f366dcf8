"""Stories: the articles about one event, their timeline, and a digest of what is new."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StoryArticle(BaseModel):
    """An article of a story, or an outlet's copy of one (``copy``: the same text, stored
    once under ``doc_id``, listed with this outlet's URL and source)."""

    doc_id: str
    title: str | None
    source: str | None
    url: str | None
    published_at: str | None
    copy_of_stored: bool = Field(
        False, description="An outlet's copy of the stored article doc_id (same text)."
    )


class StorySentence(BaseModel):
    """A sentence of a story, quoted exactly: ``document_text[start:end] == quote``."""

    quote: str
    doc_id: str
    start: int
    end: int
    title: str | None
    source: str | None
    url: str | None
    published_at: str | None = Field(
        description="When the article was published (its ingestion time when it has no date)."
    )


class StoryInfo(BaseModel):
    id: str
    title: str | None = Field(description="The title of the story's earliest article.")
    articles: list[StoryArticle] = Field(description="Every article and copy, oldest first.")
    sources: list[str]
    first_published: str
    last_published: str
    updated_at: str = Field(description="When the story last gained an article (ingestion).")
    summary: list[StorySentence] = Field(
        description="How the story began and its latest developments, cited."
    )


class StoryDetail(StoryInfo):
    timeline: list[StorySentence] = Field(
        description="The story's developments in date order: what each article added, later "
        "repetitions of an earlier fact left out."
    )


class StoryList(BaseModel):
    stories: list[StoryInfo]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class DigestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: str = Field(
        examples=["24h", "2024-12-02T00:00:00Z"],
        description="An RFC 3339 time, or a span back from now: 90m, 24h, 7d.",
    )
    feeds: list[str] | None = Field(None, description="Only articles of these feed ids.")
    sources: list[str] | None = Field(None, description="Only articles of these sources.")
    max_stories: int = Field(10, ge=1, le=100)
    max_sentences: int = Field(3, ge=1, le=20, description="New developments per story.")


class DigestStory(BaseModel):
    id: str
    title: str | None
    articles: list[StoryArticle] = Field(description="The articles it gained since then.")
    sources: list[str]
    new: list[StorySentence] = Field(description="What is new since then (not known before).")


class DigestResponse(BaseModel):
    since: str = Field(description="The time the digest starts from (UTC).")
    stories: list[DigestStory]
