"""How a question is asked: the options of one answer, converted once from the API's request."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ..schemas import AskMode, AskRequest, SearchFilters, to_utc_iso
from ..storage.types import Filters


def to_filters(filters: SearchFilters | None) -> Filters | None:
    """The storage filters of a request's ``filters`` (dates in UTC, one source or several)."""
    if filters is None:
        return None
    sources = filters.source
    return Filters(
        doc_ids=tuple(filters.doc_ids) if filters.doc_ids is not None else None,
        sources=(sources,) if isinstance(sources, str) else (tuple(sources) if sources else None),
        published_after=to_utc_iso(filters.published_after) if filters.published_after else None,
        published_before=(
            to_utc_iso(filters.published_before) if filters.published_before else None
        ),
    )


def published_by(filters: Filters | None, when: datetime | None) -> Filters | None:
    """``filters`` that also keep only articles published by ``when`` (naive: UTC): the
    earlier of it and ``published_before``. Undated articles never pass a date filter."""
    if when is None:
        return filters
    by = to_utc_iso(when)
    filters = filters or Filters()
    if filters.published_before is not None and filters.published_before < by:
        return filters
    return replace(filters, published_before=by)


@dataclass(frozen=True, slots=True)
class AskOptions:
    """How one question is answered; the defaults are those of ``POST /ask``.

    ``context`` (earlier turns of a chat) is read with the question when retrieving. ``style``
    (a chat client's system message) is passed to chat-template generators as a tone hint below
    our rules; it cannot change what is answered or cited. ``max_new_tokens`` lowers the
    generator's token budget.
    """

    top_k: int = 5
    filters: Filters | None = None
    mode: AskMode = "auto"
    context: str | None = None
    style: str | None = None
    max_new_tokens: int | None = None

    @classmethod
    def of(cls, request: AskRequest) -> AskOptions:
        """The options of a ``POST /ask`` body (the CLI and the routes both build one)."""
        filters = published_by(to_filters(request.filters), request.as_of)
        return cls(top_k=request.top_k, filters=filters, mode=request.mode)
