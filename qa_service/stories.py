"""The story desk: stories as the API shows them (articles, summary, timeline) and digests.

Composes the story book (``ingest.stories``: which article is in which story) with the stored
documents and the timeline rule (``answer.timeline``: what each article added). Everything it
shows is quoted from a stored article at exact offsets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from .answer.lru import LRUCache
from .answer.timeline import Development, StoryArticle, timeline
from .errors import InvalidInput, StoryNotFound
from .ingest.stories import Copy, Story, StoryBook
from .schemas import (
    DigestRequest,
    DigestResponse,
    DigestStory,
    StoryDetail,
    StoryInfo,
    StoryList,
    StorySentence,
    to_utc_iso,
)
from .schemas import StoryArticle as StoryArticleOut
from .storage.protocols import DocumentStore
from .storage.types import StoredDocument

_SPAN = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
#: Sentences in a story's summary: how it began, then its latest developments.
SUMMARY_SENTENCES = 3


def parse_since(value: str, now: datetime | None = None) -> str:
    """``since`` of a digest as an ISO time in UTC: an RFC 3339 time, or a span back from now
    (``90m``, ``24h``, ``7d``)."""
    now = now or datetime.now(UTC)
    m = _SPAN.match(value)
    if m:
        return to_utc_iso(now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))}))
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise InvalidInput(
            f"since must be an RFC 3339 time (2024-12-02T00:00:00Z) or a span such as 24h, 90m "
            f"or 7d; got {value!r}."
        ) from e
    return to_utc_iso(when)


class StoryDesk:
    """Stories for ``/stories`` and ``/digest``. Thread-safe."""

    #: Timelines kept in memory, keyed by the story's members and their versions.
    CACHE_SIZE = 512

    def __init__(self, book: StoryBook, store: DocumentStore) -> None:
        self.book = book
        self.store = store
        self._cache: LRUCache[tuple[str, ...], list[Development]] = LRUCache(self.CACHE_SIZE)

    # --- reading ------------------------------------------------------------------------------
    def page(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> StoryList:
        stories, total = self.book.stories(
            since=to_utc_iso(since) if since else None,
            until=to_utc_iso(until) if until else None,
            sources=[source] if source else None,
            limit=limit,
            offset=offset,
        )
        docs, copies = self._documents(stories)
        next_offset = offset + len(stories) if offset + len(stories) < total else None
        return StoryList(
            stories=[self._info(s, docs, copies) for s in stories],
            total=total,
            limit=limit,
            offset=offset,
            next_offset=next_offset,
        )

    def detail(self, story_id: str) -> StoryDetail:
        story = self.book.story(story_id)
        if story is None:
            raise StoryNotFound(story_id)
        docs, copies = self._documents([story])
        info = self._info(story, docs, copies)
        events = self._timeline(story, docs)
        return StoryDetail(
            **info.model_dump(), timeline=[_sentence(d, docs[d.doc_id]) for d in events]
        )

    def digest(self, req: DigestRequest, now: datetime | None = None) -> DigestResponse:
        """The stories that gained articles since ``req.since``, each with what is new since
        then: developments of those articles that no earlier article reported."""
        since = parse_since(req.since, now)
        stories, _ = self.book.stories(
            since=since, sources=req.sources, feeds=req.feeds, limit=req.max_stories
        )
        docs, copies = self._documents(stories)
        out = []
        for story in stories:
            fresh = [
                m
                for m in story.members
                if m.at >= since
                and (not req.sources or m.source in req.sources)
                and (not req.feeds or m.feed_id in req.feeds)
            ]
            if not fresh:
                continue  # gained only a copy from another source or feed
            fresh_ids = {m.doc_id for m in fresh}
            new = [d for d in self._timeline(story, docs) if d.doc_id in fresh_ids]
            articles = [a for a in self._articles(story, docs, copies) if a.doc_id in fresh_ids]
            out.append(
                DigestStory(
                    id=story.id,
                    title=story.title,
                    articles=articles,
                    sources=_sources(articles),
                    new=[_sentence(d, docs[d.doc_id]) for d in new[: req.max_sentences]],
                )
            )
        return DigestResponse(since=since, stories=out)

    # --- building -----------------------------------------------------------------------------
    def _documents(
        self, stories: Sequence[Story]
    ) -> tuple[dict[str, StoredDocument], dict[str, list[Copy]]]:
        """The stored documents of the stories' members and their unstored copies, read once
        for all the stories shown."""
        ids = [m.doc_id for s in stories for m in s.members]
        docs = self.store.get_documents(ids)
        for s in stories:  # a document deleted by another process meanwhile
            s.members = [m for m in s.members if m.doc_id in docs]
        return docs, self.book.copies(ids)

    def _articles(
        self, story: Story, docs: dict[str, StoredDocument], copies: dict[str, list[Copy]]
    ) -> list[StoryArticleOut]:
        out = []
        for m in story.members:
            doc = docs[m.doc_id]
            out.append(
                StoryArticleOut(
                    doc_id=doc.id,
                    title=doc.title,
                    source=doc.source,
                    url=doc.url,
                    published_at=doc.published_at,
                )
            )
            out.extend(
                StoryArticleOut(
                    doc_id=doc.id,
                    title=doc.title,
                    source=c.source,
                    url=c.url,
                    published_at=c.published_at,
                    copy_of_stored=True,
                )
                for c in copies.get(m.doc_id, [])
                if c.url != doc.url
            )
        return out

    def _timeline(self, story: Story, docs: dict[str, StoredDocument]) -> list[Development]:
        versions = (f"{m.doc_id}:{m.at}:{docs[m.doc_id].content_hash}" for m in story.members)
        key = (story.id, *versions)
        cached = self._cache.get(key)
        if cached is None:
            articles = [StoryArticle(m.doc_id, m.at, docs[m.doc_id].text) for m in story.members]
            cached = timeline(articles)
            self._cache.put(key, cached)
        return cached

    def _info(
        self, story: Story, docs: dict[str, StoredDocument], copies: dict[str, list[Copy]]
    ) -> StoryInfo:
        events = self._timeline(story, docs)
        summary = _summary(events)
        articles = self._articles(story, docs, copies)
        return StoryInfo(
            id=story.id,
            title=story.title,
            articles=articles,
            sources=_sources(articles),
            first_published=story.first_at,
            last_published=story.last_at,
            updated_at=story.updated_at,
            summary=[_sentence(d, docs[d.doc_id]) for d in summary],
        )


def _summary(events: list[Development]) -> list[Development]:
    """How the story began, then the lead development of each of its latest articles, in date
    order (a one-article story: its first developments)."""
    leads: dict[str, Development] = {}
    for e in events:
        leads.setdefault(e.doc_id, e)
    firsts = list(leads.values())
    if len(firsts) <= 1:
        return events[:SUMMARY_SENTENCES]
    return [firsts[0], *firsts[1:][-(SUMMARY_SENTENCES - 1) :]]


def _sources(articles: Sequence[StoryArticleOut]) -> list[str]:
    return list(dict.fromkeys(a.source for a in articles if a.source))


def _sentence(d: Development, doc: StoredDocument) -> StorySentence:
    return StorySentence(
        quote=d.quote,
        doc_id=d.doc_id,
        start=d.start,
        end=d.end,
        title=doc.title,
        source=doc.source,
        url=doc.url,
        published_at=d.at,
    )
