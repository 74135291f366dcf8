"""Questions and cited answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .common import ModelInfo, NonBlank, to_utc_iso
from .search import SearchFilters

AskMode = Literal["auto", "extractive", "generative"]


def _in_utc(value: datetime) -> datetime:
    try:
        to_utc_iso(value)
    except OverflowError as e:  # "0001-01-01T00:00+05:00" is before year 1 in UTC
        raise ValueError("is out of range in UTC") from e
    return value


#: A time that can be said in UTC (naive: UTC), as ``as_of`` takes it.
Instant = Annotated[datetime, AfterValidator(_in_utc)]


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
    as_of: Instant | None = Field(
        None,
        description="Answer as of this time (RFC 3339; without a zone, UTC; a date alone is its "
        "00:00 UTC): only articles published by then are read. Articles without a published "
        "date are left out. With filters.published_before too, the earlier of the two applies.",
        examples=["2024-12-02T18:00:00Z"],
    )


class Citation(BaseModel):
    id: int = Field(description="The number used in the answer's [n] markers.")
    doc_id: str
    title: str | None
    url: str | None
    start: int = Field(description="Character offset of the quote in the document text.")
    end: int
    quote: str = Field(description="Exactly document_text[start:end]: one sentence.")
    score: float
    published_at: str | None = Field(
        None, description="When the article was published (ISO 8601, UTC), if known."
    )
    source: str | None = Field(None, description="The article's outlet, if known.")


class RelatedPassage(BaseModel):
    """A passage that came closest, returned when the question is not answered."""

    doc_id: str
    title: str | None
    start: int
    end: int
    quote: str
    score: float
    published_at: str | None = Field(
        None, description="When the article was published (ISO 8601, UTC), if known."
    )
    source: str | None = Field(None, description="The article's outlet, if known.")


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
