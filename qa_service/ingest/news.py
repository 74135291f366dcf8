"""News in, continuously: articles from URLs, followed feeds, and wire copies folded together.

``NewsDesk`` is the part of the service that reaches out to the web. It fetches pages and
feeds (``fetch``), keeps feed state (``feeds``), and hands articles to ``IngestPipeline.ingest``
like any other document, after one check of its own: an article whose normalized text is
already stored under another id or URL is not stored again; the result names the document that
holds it (``wire``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag

import numpy as np
from pydantic import ValidationError

from ..errors import LimitExceeded, QAServiceError
from ..observability import INGESTED
from ..schemas import DocumentIn, FeedInfo, UrlResult, to_utc_iso
from ..storage.types import StoredDocument, TxHook
from .extract import Article, Entry, extract_article, parse_feed
from .feeds import FeedPoller, FeedRegistry
from .feedstore import MAX_ATTEMPTS, EntryOutcome, FeedStore
from .fetch import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchError
from .pipeline import IngestPipeline, filing
from .stories import Copy
from .wire import Fingerprint, text_hash

if TYPE_CHECKING:
    from collections.abc import Iterator


log = logging.getLogger(__name__)

#: Entries fetched and ingested together (their progress is recorded per group).
ENTRY_GROUP = 16


def url_doc_id(url: str) -> str:
    """The id of an article fetched from ``url``: the same URL always updates one document."""
    return "url-" + hashlib.sha256(urldefrag(url)[0].encode("utf-8")).hexdigest()[:24]


def _published(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _failed(url: str, e: FetchError) -> UrlResult:
    return UrlResult(url=url, status="failed", error=e.code, reason=e.reason)


class NewsDesk:
    """URL ingestion and feeds for one service; thread-safe."""

    #: A poller or poll that stops renewing its lease for this long is taken over.
    LEASE_S = 120.0

    def __init__(self, pipeline: IngestPipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.fetcher = Fetcher(self.settings)
        self.feeds = FeedStore(self.settings.db_path)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.poller: FeedPoller | None = None
        self.registry = FeedRegistry(self.settings, self.feeds, self.fetcher, self._wake)
        #: Seconds spent per stage (fetch, extract, ingest) since start: for benchmarks.
        self.timings: dict[str, float] = {"fetch": 0.0, "extract": 0.0, "ingest": 0.0}

    def start_polling(self) -> None:
        """Start the background poller (the server does; one-off CLI commands do not)."""
        if self.poller is None and self.settings.feed_polling:
            self.poller = FeedPoller(
                self.feeds, self.owner, self.LEASE_S, self.poll_due, self.backfill
            )
            self.poller.start()

    def _wake(self) -> None:
        if self.poller is not None:
            self.poller.wake()

    def close(self) -> None:
        if self.poller is not None:
            self.poller.close()
        self.fetcher.close()
        self.feeds.close()

    @contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - t0

    # --- articles -----------------------------------------------------------------------------
    def fetch_article(self, url: str) -> Article:
        with self._timed("fetch"):
            fetched = self.fetcher.get(url, accept=PAGE_ACCEPT)
        with self._timed("extract"):
            return extract_article(fetched)

    def ingest_urls(self, urls: Sequence[str]) -> list[UrlResult]:
        """Fetch, extract and ingest each URL; a URL that fails is reported, never fatal."""
        limit = self.settings.max_urls_per_request
        if len(urls) > limit:
            raise LimitExceeded(
                f"{len(urls)} URLs in one request; the limit is {limit} (QA_MAX_URLS_PER_REQUEST).",
                limit=limit,
            )
        results: list[UrlResult | None] = [None] * len(urls)
        todo: list[tuple[int, str, DocumentIn]] = []
        for i, raw in enumerate(urls):
            url = raw.strip()
            try:
                article = self.fetch_article(url)
                todo.append((i, url, self._document(article, source=article.site)))
            except FetchError as e:
                results[i] = _failed(url, e)
            except ValidationError as e:
                results[i] = UrlResult(url=url, status="failed", error="invalid", reason=str(e))
        stored = self.ingest_articles([(url, doc) for _, url, doc in todo])
        for (i, _, _), result in zip(todo, stored, strict=True):
            results[i] = result
        out = [r for r in results if r is not None]
        INGESTED.labels("failed").inc(sum(r.status == "failed" for r in out))
        return out

    def _document(
        self,
        article: Article,
        *,
        source: str | None,
        title: str | None = None,
        published: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> DocumentIn:
        meta = {"author": article.author} if article.author else {}
        name = title or article.title
        return DocumentIn(
            id=url_doc_id(article.url),
            text=article.text,
            title=name[:1000] if name else None,
            url=article.url[:4096],
            published_at=published or _published(article.published),
            source=source[:200] if source else None,
            metadata=meta | (metadata or {}),
        )

    def _holder(self, hash_: str, doc_id: str) -> str | None:
        """Another stored document with exactly this normalized text, if any."""
        holders = self.pipeline.wire.holders(hash_)
        if doc_id in holders:
            return None  # this very document: an ordinary re-ingest
        stored = self.pipeline.store.get_documents(holders)
        for h in holders:
            if h in stored:
                return h
            self.pipeline.wire.forget(h)  # deleted by another process meanwhile
        return None

    def ingest_articles(self, items: Sequence[tuple[str, DocumentIn]]) -> list[UrlResult]:
        """Ingest fetched articles (url, document), in order; exact copies of stored text are
        not stored again, and a document that cannot be stored fails alone."""
        results: list[UrlResult | None] = [None] * len(items)
        batch: list[tuple[int, str, DocumentIn]] = []
        by_text: dict[str, str] = {}
        for i, (url, doc) in enumerate(items):
            assert doc.id is not None
            hash_ = text_hash(doc.text)
            holder = by_text.get(hash_) or self._holder(hash_, doc.id)
            if holder is None and any(d.id == doc.id for _, _, d in batch):
                holder = doc.id  # two URLs that lead to one canonical article
            if holder is not None:
                results[i] = UrlResult(
                    url=url, status="unchanged", id=holder, title=doc.title, duplicate_of=holder
                )
                if self.pipeline.stories is not None and url and holder != doc.id:
                    # the copy is not stored, but its story lists this outlet's URL too
                    published = to_utc_iso(doc.published_at) if doc.published_at else None
                    self.pipeline.stories.add_copy(Copy(holder, url, doc.source, published))
                INGESTED.labels("unchanged").inc()
                continue
            by_text[hash_] = doc.id
            batch.append((i, url, doc))
        with self._timed("ingest"):
            done = self._ingest([d for *_, d in batch])
        for (i, url, _), result in zip(batch, done, strict=True):
            results[i] = result.model_copy(update={"url": url})
        holders = [r.id for r in results if r is not None and r.duplicate_of and r.id]
        counts = self.pipeline.store.get_documents(holders)
        out: list[UrlResult] = []
        for r in results:
            assert r is not None
            if r.duplicate_of and r.duplicate_of in counts:
                r.chunks = counts[r.duplicate_of].chunk_count
            out.append(r)
        return out

    def _ingest(self, docs: list[DocumentIn]) -> list[UrlResult]:
        if not docs:
            return []
        try:
            done = self.pipeline.ingest(docs, max_documents=len(docs))
        except QAServiceError as e:
            if len(docs) > 1:  # find the documents at fault, keep the rest
                return [r for d in docs for r in self._ingest([d])]
            code = "too-large" if isinstance(e, LimitExceeded) else "invalid"
            return [UrlResult(url="", status="failed", id=docs[0].id, error=code, reason=e.detail)]
        links = self.pipeline.wire.links([r.id for r in done])
        out = []
        for doc, r in zip(docs, done, strict=True):
            link = links.get(r.id)
            near = link.linked_to if link is not None and link.linked_to != r.id else None
            out.append(
                UrlResult(url="", status=r.status, id=r.id, chunks=r.chunks, title=doc.title,
                          near_duplicate_of=near)
            )  # fmt: skip
        return out

    def backfill(self) -> None:
        """Wire links, then stories, for documents stored before they existed (or while stories
        were off); runs once in the poller, page by page in ingestion order."""
        wire, stories = self.pipeline.wire, self.pipeline.stories
        for what, missing, hook in (
            ("wire links", wire.missing, self._wire_hook),
            ("stories", stories.missing if stories else None, self._story_hook),
        ):
            if missing is not None:
                self._backfill(what, missing, hook)

    def _backfill(
        self,
        what: str,
        missing: Callable[[list[str]], list[str]],
        hook: Callable[[list[StoredDocument]], TxHook],
    ) -> None:
        done = offset = 0
        while True:
            docs, _ = self.pipeline.store.list_documents(200, offset)
            if not docs:
                return
            offset += len(docs)
            ids = missing([d.id for d in docs])
            if not ids:
                continue
            with self.pipeline.lock:  # no ingest of these ids in between
                current = list(self.pipeline.store.get_documents(ids).values())
                self.pipeline.store.in_transaction(hook(current))
            done += len(current)
            log.info("%s: %d earlier documents done", what, done)

    def _wire_hook(self, docs: list[StoredDocument]) -> TxHook:
        return self.pipeline.wire.link_hook([Fingerprint.of(d.id, d.text) for d in docs])

    def _story_hook(self, docs: list[StoredDocument]) -> TxHook:
        """Filing from the stored vectors (nothing is embedded again)."""
        assert self.pipeline.stories is not None
        chunks = self.pipeline.store.export_chunks([d.id for d in docs])
        filings = [
            filing(d, np.stack([c.vector for c in chunks[d.id]])) for d in docs if chunks.get(d.id)
        ]
        return self.pipeline.stories.file_hook(filings, self.pipeline.wire.copies_in)

    # --- feeds --------------------------------------------------------------------------------
    def refresh_feed(self, feed_id: str) -> FeedInfo:
        """Poll a feed now and return its state; if another worker is polling it at this
        moment, wait for that poll instead."""
        self.registry.row(feed_id)
        if not self.poll(feed_id):
            deadline = time.monotonic() + self.LEASE_S
            while self.feeds.is_claimed(feed_id) and time.monotonic() < deadline:
                time.sleep(0.2)
        return self.registry.get(feed_id)

    def poll_due(self, keepalive: Callable[[], None]) -> None:
        for feed_id in self.feeds.due():
            if self.poller is not None and self.poller.stopping:
                return
            self.poll(feed_id, keepalive)
            keepalive()

    def poll(self, feed_id: str, keepalive: Callable[[], None] | None = None) -> bool:
        """One poll of one feed: a conditional GET, then its new entries. False when another
        worker holds the feed."""
        feed = self.feeds.claim(feed_id, self.owner, self.LEASE_S)
        if feed is None:
            return False

        def alive() -> None:
            self.feeds.renew(feed_id, self.owner, self.LEASE_S)
            if keepalive is not None:
                keepalive()

        headers = {}
        if feed["etag"]:
            headers["If-None-Match"] = feed["etag"]
        if feed["last_modified"]:
            headers["If-Modified-Since"] = feed["last_modified"]
        try:
            fetched = self.fetcher.get(feed["url"], accept=FEED_ACCEPT, headers=headers)
            if fetched.status == 304:
                self.feeds.finish(feed_id, self.owner, status="not_modified")
                return True
            title, entries = parse_feed(fetched.content, fetched.url)
            settled = self._take_entries(feed_id, title or feed["title"], entries, alive)
        except FetchError as e:
            log.warning("feed %s: %s", feed["url"], e.reason)
            self.feeds.finish(
                feed_id, self.owner, status="error", error=e.reason, retry_after_s=e.retry_after_s
            )
            return True
        except Exception as e:
            log.exception("feed %s: poll failed", feed["url"])
            self.feeds.finish(feed_id, self.owner, status="error", error=f"internal error: {e}")
            return True
        # The validators are kept only when every entry is settled: otherwise the next poll must
        # read the feed in full (a 304 would hide the entries still to be tried).
        self.feeds.finish(
            feed_id,
            self.owner,
            status="ok",
            title=title,
            etag=fetched.headers.get("etag") if settled else None,
            last_modified=fetched.headers.get("last-modified") if settled else None,
        )
        return True

    def _take_entries(
        self, feed_id: str, source: str | None, entries: list[Entry], alive: Callable[[], None]
    ) -> bool:
        """Ingest the entries not done yet; True when none is left to try again later."""
        entries = entries[: self.settings.feed_max_entries]
        states = self.feeds.entry_states(feed_id, [e.key for e in entries])

        def due(e: Entry) -> bool:
            state = states.get(e.key)
            return state is None or (state[0] == "failed" and state[1] < MAX_ATTEMPTS)

        todo = [e for e in {e.key: e for e in entries}.values() if due(e)]
        todo.reverse()  # oldest first: the first outlet to publish a story holds its text
        tried = {key: state[1] for key, state in states.items()}
        settled = True
        for g in range(0, len(todo), ENTRY_GROUP):
            if self.poller is not None and self.poller.stopping:
                return False  # shutting down: the rest at the next poll
            outcomes: list[EntryOutcome] = []
            ready: list[tuple[Entry, DocumentIn]] = []
            for entry in todo[g : g + ENTRY_GROUP]:
                alive()
                try:
                    ready.append((entry, self._entry_document(feed_id, source, entry)))
                except FetchError as e:
                    outcomes.append(EntryOutcome(entry.key, entry.link, None, "failed", e.reason))
                except ValidationError as e:
                    outcomes.append(EntryOutcome(entry.key, entry.link, None, "failed", str(e)))
            results = self.ingest_articles([(d.url or "", d) for _, d in ready])
            for (entry, _), r in zip(ready, results, strict=True):
                status = "failed" if r.status == "failed" else (
                    "duplicate" if r.duplicate_of else "ingested"
                )  # fmt: skip
                outcomes.append(EntryOutcome(entry.key, entry.link, r.id, status, r.reason))
            self.feeds.record_entries(feed_id, outcomes)
            settled &= all(
                o.status != "failed" or tried.get(o.key, 0) + 1 >= MAX_ATTEMPTS for o in outcomes
            )
        return settled

    def _entry_document(self, feed_id: str, source: str | None, entry: Entry) -> DocumentIn:
        """The entry as a document: the feed's own text when it is the full article, else the
        article fetched from the entry's link."""
        meta: dict[str, Any] = {"feed_id": feed_id}
        if entry.author:
            meta["author"] = entry.author
        if entry.link and len(entry.text) < self.settings.feed_full_text_chars:
            article = self.fetch_article(entry.link)
            return self._document(
                article, source=source, title=entry.title, published=entry.published,
                metadata=meta,
            )  # fmt: skip
        if not entry.text:
            raise FetchError("no-text", "the entry has neither text nor a link")
        url = entry.link or f"{feed_id}:{entry.key}"
        article = Article(url, entry.text, entry.title, entry.author, None, source)
        doc = self._document(article, source=source, published=entry.published, metadata=meta)
        return doc if entry.link else doc.model_copy(update={"url": None})
