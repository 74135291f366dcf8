"""Followed feeds: registering them, and the background poller.

Every process serving one data directory (Ray replicas on a machine) starts a poller thread, but
only the holder of the ``feed-poller`` lease polls; the others take over when it stops renewing
it. The feeds' state lives in SQLite (``feedstore``).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import FetchFailed, InvalidInput, NotFound
from ..schemas import FeedIn, FeedInfo, FeedList
from .extract import parse_feed
from .feedstore import POLLER_LEASE, FeedStore, feed_id_for, iso
from .fetch import FEED_ACCEPT, Fetcher, FetchError

log = logging.getLogger(__name__)


# --- registering feeds ------------------------------------------------------------------------
class FeedRegistry:
    """Add, list and remove followed feeds (no models needed: the CLI uses it directly)."""

    def __init__(
        self,
        settings: Settings,
        store: FeedStore,
        fetcher: Fetcher,
        on_added: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.on_added = on_added

    @staticmethod
    def info(row: dict[str, Any]) -> FeedInfo:
        return FeedInfo(
            id=row["id"],
            url=row["url"],
            title=row["title"],
            interval_minutes=round(row["interval_s"] / 60, 4),
            status=row["status"],
            last_error=row["last_error"],
            consecutive_errors=row["errors"],
            last_fetch_at=row["last_fetch_at"],
            next_fetch_at=iso(row["next_fetch_at"]),
            entries_seen=row["seen"],
            entries_ingested=row["ok"],
            entries_duplicate=row["dup"],
            entries_failed=row["failed"],
            created_at=row["created_at"],
        )

    def row(self, feed_id: str) -> dict[str, Any]:
        row = self.store.get(feed_id)
        if row is None:
            raise NotFound(f"No feed with id {feed_id!r}.", feed_id=feed_id)
        return row

    def add(self, body: FeedIn) -> tuple[FeedInfo, bool]:
        """Follow a feed (fetched once now, to check that it is one); returns (feed, created).
        Adding a followed URL again changes only its interval."""
        s = self.settings
        minutes = body.interval_minutes or s.feed_default_interval_minutes
        if minutes < s.feed_min_interval_minutes:
            raise InvalidInput(
                f"interval_minutes must be at least {s.feed_min_interval_minutes:g} "
                "(QA_FEED_MIN_INTERVAL_MINUTES)."
            )
        url = body.url.strip()
        existing = self.store.by_url(url)
        if existing is not None:
            if body.interval_minutes is not None:
                self.store.set_interval(existing["id"], minutes * 60)
            return self.info(self.row(existing["id"])), False
        try:
            fetched = self.fetcher.get(url, accept=FEED_ACCEPT)
            title, _ = parse_feed(fetched.content, fetched.url)
        except FetchError as e:
            raise FetchFailed(f"Cannot follow {url}: {e.reason}", url=url, error=e.code) from e
        feed_id = feed_id_for(url)
        self.store.add(feed_id, url, title, minutes * 60)
        if self.on_added is not None:
            self.on_added()
        return self.info(self.row(feed_id)), True

    def list(self) -> FeedList:
        feeds = [self.info(r) for r in self.store.all()]
        return FeedList(feeds=feeds, total=len(feeds))

    def get(self, feed_id: str) -> FeedInfo:
        return self.info(self.row(feed_id))

    def remove(self, feed_id: str) -> None:
        """Stop following a feed; the documents it brought stay."""
        if not self.store.remove(feed_id):
            raise NotFound(f"No feed with id {feed_id!r}.", feed_id=feed_id)


# --- the poller -------------------------------------------------------------------------------
class FeedPoller:
    """One daemon thread per process; polls due feeds while it holds the data directory's lease."""

    #: Longest sleep between looks at the feed table (feeds added by other processes, a lease
    #: given up by another process).
    TICK_S = 30.0

    def __init__(
        self,
        store: FeedStore,
        owner: str,
        lease_s: float,
        poll_due: Callable[[Callable[[], None]], None],
        on_first_lease: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.lease_s = lease_s
        self.poll_due = poll_due
        self.on_first_lease = on_first_lease
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="qa-feeds", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        try:
            self.store.release_lease(POLLER_LEASE, self.owner)  # the next process starts at once
        except sqlite3.Error:
            log.warning("could not release the feed poller lease", exc_info=True)

    def keepalive(self) -> None:
        self.store.acquire_lease(POLLER_LEASE, self.owner, self.lease_s)

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            delay = self.TICK_S
            try:
                if self.store.acquire_lease(POLLER_LEASE, self.owner, self.lease_s):
                    if first and self.on_first_lease is not None:
                        self.on_first_lease()
                    first = False
                    self.poll_due(self.keepalive)
                    due = self.store.next_due_in()
                    if due is not None:
                        delay = min(self.TICK_S, max(0.2, due))
            except Exception:
                log.exception("feed poller: this round failed; trying again")
            self._wake.wait(delay)
            self._wake.clear()
