"""The ingestion jobs table: every SQL statement on ``jobs`` lives here.

Jobs stay in the local SQLite file whatever the document backend. With SQLite the ``JobStore``
shares the document store's connection, so a batch's progress hook runs in the documents'
transaction; with Milvus it opens the file itself (see ``ingest.jobs`` on at-least-once).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .localdb import connect, immediate_tx
from .types import TxHook, now_iso

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    payload TEXT NOT NULL,
    owner TEXT,
    lease_until REAL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

_COLUMNS = (
    "id", "status", "total", "done", "created", "updated", "unchanged", "failed", "failures",
    "created_at", "updated_at",
)  # fmt: skip


def _job(row: sqlite3.Row) -> dict[str, Any]:
    job = dict(row)
    job.pop("owner", None)
    job.pop("lease_until", None)
    job["failures"] = json.loads(job["failures"])
    return job


class JobStore:
    """The jobs table on a connection that may be shared (with ``SQLiteStore``) or its own.

    Writes go through ``in_transaction``/``immediate_tx`` under ``lock``; ``progress`` and
    ``mark_running`` return hooks, so the caller chooses the transaction they run in.
    """

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock) -> None:
        self._conn = conn
        self._lock = lock
        conn.executescript(SCHEMA)
        columns = {r[1] for r in conn.execute("PRAGMA table_info(jobs)")}
        for column, kind in (("owner", "TEXT"), ("lease_until", "REAL")):
            if column not in columns:  # a database from before job leases
                conn.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")

    @classmethod
    def open(cls, path: Path) -> JobStore:
        """A job store with its own connection to the SQLite file at ``path``."""
        conn = connect(path)
        try:
            return cls(conn, threading.RLock())
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def in_transaction(self, hook: TxHook) -> None:
        """Run ``hook`` in one write transaction on this store's connection."""
        with immediate_tx(self._conn, self._lock) as c:
            hook(c)

    def create(self, job_id: str, payload: str, total: int) -> None:
        now = now_iso()
        with immediate_tx(self._conn, self._lock) as c:
            c.execute(
                "INSERT INTO jobs (id, status, total, payload, created_at, updated_at)"
                " VALUES (?, 'queued', ?, ?, ?, ?)",
                (job_id, total, payload, now, now),
            )

    def get(self, job_id: str, with_payload: bool = False) -> dict[str, Any] | None:
        cols = "*" if with_payload else ", ".join(_COLUMNS)
        with self._lock:
            row = self._conn.execute(f"SELECT {cols} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def page(self, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            total = int(self._conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            rows = self._conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY created_at DESC, rowid DESC"
                " LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_job(r) for r in rows], total

    def claim_next(self, owner: str, lease_s: float) -> dict[str, Any] | None:
        """Claim the oldest unfinished job that no other live worker holds.

        Several processes may share this database (replicas on one machine): a job is leased to
        one worker, which renews the lease with every batch; if it dies, another worker takes
        the job over once the lease has run out.
        """
        now = time.time()
        with immediate_tx(self._conn, self._lock) as c:
            row = c.execute(
                "SELECT * FROM jobs WHERE status IN ('queued', 'running')"
                " AND (owner IS NULL OR owner = ? OR lease_until < ?) ORDER BY rowid LIMIT 1",
                (owner, now),
            ).fetchone()
            if row is None:
                return None
            c.execute(
                "UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?",
                (owner, now + lease_s, row["id"]),
            )
        return _job(row)

    @staticmethod
    def mark_running(job_id: str) -> TxHook:
        """The hook that moves a queued job to ``running``."""

        def hook(c: sqlite3.Connection) -> None:
            c.execute("UPDATE jobs SET status='running' WHERE id=?", (job_id,))

        return hook

    @staticmethod
    def progress(job: dict[str, Any], lease_s: float) -> TxHook:
        """The hook that stores ``job``'s counters, status and failures and renews its lease."""

        def hook(c: sqlite3.Connection) -> None:
            c.execute(
                "UPDATE jobs SET status=?, done=?, created=?, updated=?, unchanged=?, failed=?,"
                " failures=?, updated_at=?, lease_until=? WHERE id=?",
                (
                    job["status"],
                    job["done"],
                    job["created"],
                    job["updated"],
                    job["unchanged"],
                    job["failed"],
                    json.dumps(job["failures"]),
                    now_iso(),
                    time.time() + lease_s,
                    job["id"],
                ),
            )

        return hook
