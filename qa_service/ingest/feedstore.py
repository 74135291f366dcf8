"""Followed feeds' state in SQLite: the feed tables, each feed's poll state and entries, leases.

Feeds, what each poll found and which entries are done live in the local SQLite file of the data
directory (next to the jobs, with either vector backend), so they survive restarts. The
``leases`` table lets one process of those serving a data directory hold the feed poller, and a
poll claims its feed, so a manual refresh and the poller never poll one feed at once.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..storage.localdb import immediate_tx, select_in
from ..storage.types import now_iso

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    interval_s REAL NOT NULL,
    etag TEXT,
    last_modified TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    errors INTEGER NOT NULL DEFAULT 0,
    last_fetch_at TEXT,
    next_fetch_at REAL NOT NULL,
    claimed_by TEXT,
    claimed_until REAL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feed_entries (
    feed_id TEXT NOT NULL,
    key TEXT NOT NULL,
    url TEXT,
    doc_id TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    first_seen_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
);
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""

_FEED_SELECT = """
SELECT f.*,
  (SELECT COUNT(*) FROM feed_entries e WHERE e.feed_id = f.id) AS seen,
  (SELECT COUNT(*) FROM feed_entries e WHERE e.feed_id = f.id AND e.status = 'ingested') AS ok,
  (SELECT COUNT(*) FROM feed_entries e WHERE e.feed_id = f.id AND e.status = 'duplicate') AS dup,
  (SELECT COUNT(*) FROM feed_entries e WHERE e.feed_id = f.id AND e.status = 'failed') AS failed
FROM feeds f
"""

#: An entry that failed this often is not tried again.
MAX_ATTEMPTS = 3
#: Longest wait after repeated errors (unless the interval itself is longer).
MAX_BACKOFF_S = 6 * 3600.0
POLLER_LEASE = "feed-poller"


def feed_id_for(url: str) -> str:
    return "feed-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def backoff_s(interval_s: float, errors: int) -> float:
    """The wait after ``errors`` failed polls in a row: the interval, doubled per error."""
    return float(min(interval_s * 2 ** min(errors, 16), max(interval_s, MAX_BACKOFF_S)))


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    key: str
    url: str | None
    doc_id: str | None
    status: str  # ingested | duplicate | failed
    reason: str | None = None


class FeedStore:
    """The feed tables, on a connection of their own to the data directory's SQLite file."""

    def __init__(self, db_path: Path) -> None:
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            db_path, check_same_thread=False, isolation_level=None, timeout=30.0
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_tx(self._conn, self._lock)

    # --- feeds --------------------------------------------------------------------------------
    def add(self, feed_id: str, url: str, title: str | None, interval_s: float) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT INTO feeds (id, url, title, interval_s, next_fetch_at, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (feed_id, url, title, interval_s, time.time(), now_iso()),
            )

    def set_interval(self, feed_id: str, interval_s: float) -> None:
        with self._tx() as c:
            c.execute("UPDATE feeds SET interval_s = ? WHERE id = ?", (interval_s, feed_id))

    def get(self, feed_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(_FEED_SELECT + " WHERE f.id = ?", (feed_id,)).fetchone()
        return None if row is None else dict(row)

    def by_url(self, url: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._conn.execute(_FEED_SELECT + " WHERE f.url = ?", (url,)).fetchone()
        return None if row is None else dict(row)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(_FEED_SELECT + " ORDER BY f.created_at, f.rowid").fetchall()
        return [dict(r) for r in rows]

    def remove(self, feed_id: str) -> bool:
        with self._tx() as c:
            c.execute("DELETE FROM feed_entries WHERE feed_id = ?", (feed_id,))
            return c.execute("DELETE FROM feeds WHERE id = ?", (feed_id,)).rowcount > 0

    def due(self, limit: int = 50) -> list[str]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM feeds WHERE next_fetch_at <= ? ORDER BY next_fetch_at LIMIT ?",
                (time.time(), limit),
            ).fetchall()
        return [r[0] for r in rows]

    def next_due_in(self) -> float | None:
        """Seconds until the next feed is due (0 if one is overdue), None without feeds."""
        with self._lock:
            row = self._conn.execute("SELECT MIN(next_fetch_at) FROM feeds").fetchone()
        return None if row[0] is None else max(0.0, row[0] - time.time())

    # --- polling ------------------------------------------------------------------------------
    def claim(self, feed_id: str, owner: str, lease_s: float) -> dict[str, Any] | None:
        """Take the feed for one poll; None if it is gone or another worker is polling it."""
        now = time.time()
        with self._tx() as c:
            claimed = c.execute(
                "UPDATE feeds SET claimed_by = ?, claimed_until = ? WHERE id = ? AND"
                " (claimed_until IS NULL OR claimed_until < ? OR claimed_by = ?)",
                (owner, now + lease_s, feed_id, now, owner),
            ).rowcount
        return self.get(feed_id) if claimed else None

    def renew(self, feed_id: str, owner: str, lease_s: float) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE feeds SET claimed_until = ? WHERE id = ? AND claimed_by = ?",
                (time.time() + lease_s, feed_id, owner),
            )

    def is_claimed(self, feed_id: str) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT claimed_until FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
        return row is not None and row[0] is not None and row[0] >= time.time()

    def finish(
        self,
        feed_id: str,
        owner: str,
        *,
        status: str,
        error: str | None = None,
        title: str | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        """Record a poll's outcome, schedule the next one and release the claim."""
        now = time.time()
        with self._tx() as c:
            row = c.execute(
                "SELECT interval_s, errors FROM feeds WHERE id = ?", (feed_id,)
            ).fetchone()
            if row is None:  # removed while it was being polled
                return
            interval_s, errors = row
            if status == "error":
                errors += 1
                wait = max(backoff_s(interval_s, errors), retry_after_s or 0.0)
            else:
                errors = 0
                wait = interval_s
            sets = ["status = ?", "last_error = ?", "errors = ?", "last_fetch_at = ?",
                    "next_fetch_at = ?", "claimed_by = NULL", "claimed_until = NULL"]  # fmt: skip
            values: list[Any] = [status, error, errors, now_iso(), now + wait]
            if title:
                sets.append("title = ?")
                values.append(title)
            if status == "ok":  # validators of the content just read (None clears old ones)
                sets += ["etag = ?", "last_modified = ?"]
                values += [etag, last_modified]
            c.execute(
                f"UPDATE feeds SET {', '.join(sets)} WHERE id = ? AND claimed_by = ?",
                (*values, feed_id, owner),
            )

    def release(self, feed_id: str, owner: str) -> None:
        with self._tx() as c:
            c.execute(
                "UPDATE feeds SET claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                (feed_id, owner),
            )

    def entry_states(self, feed_id: str, keys: Sequence[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        with self._lock:
            sql = (
                "SELECT key, status, attempts FROM feed_entries WHERE feed_id = ?"
                " AND key IN ({marks})"
            )
            for rows in select_in(self._conn, sql, keys, before=[feed_id]):
                out.update((r[0], (r[1], r[2])) for r in rows)
        return out

    def record_entries(self, feed_id: str, outcomes: Sequence[EntryOutcome]) -> None:
        now = now_iso()
        with self._tx() as c:
            if c.execute("SELECT 1 FROM feeds WHERE id = ?", (feed_id,)).fetchone() is None:
                return  # removed meanwhile: its entries go with it
            c.executemany(
                "INSERT INTO feed_entries (feed_id, key, url, doc_id, status, reason,"
                " first_seen_at, updated_at) VALUES (?,?,?,?,?,?,?,?)"
                " ON CONFLICT(feed_id, key) DO UPDATE SET url = excluded.url,"
                " doc_id = excluded.doc_id, status = excluded.status, reason = excluded.reason,"
                " attempts = feed_entries.attempts + 1, updated_at = excluded.updated_at",
                [(feed_id, o.key, o.url, o.doc_id, o.status, o.reason, now, now) for o in outcomes],
            )

    # --- the poller's lease -------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, lease_s: float) -> bool:
        """Take or renew the lease; False while another live owner holds it."""
        now = time.time()
        with self._tx() as c:
            row = c.execute("SELECT owner, until FROM leases WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != owner and row[1] > now:
                return False
            c.execute(
                "INSERT OR REPLACE INTO leases (name, owner, until) VALUES (?, ?, ?)",
                (name, owner, now + lease_s),
            )
        return True

    def release_lease(self, name: str, owner: str) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))
