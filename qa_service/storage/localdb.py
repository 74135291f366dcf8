"""The local SQLite file's plumbing, shared by everything that keeps tables in it (documents,
jobs, feeds, wire copies): how a connection is opened, how a write transaction is taken and
how an `IN` list is read in batches."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from ..errors import StorageError

#: Values per ``IN (...)`` list: well below SQLite's limit on bound parameters.
IN_BATCH = 500


def select_in(
    conn: sqlite3.Connection, sql: str, values: Sequence[Any], before: Sequence[Any] = ()
) -> Iterator[list[Any]]:
    """The rows of ``sql`` for ``values``, one batch of ``IN_BATCH`` values at a time: ``sql``
    holds ``{marks}`` where the ``IN`` list's placeholders go, ``before`` binds the parameters
    ahead of it. The caller holds whatever lock guards ``conn``."""
    for i in range(0, len(values), IN_BATCH):
        part = list(values[i : i + IN_BATCH])
        marks = ",".join("?" * len(part))
        yield conn.execute(sql.replace("{marks}", marks), [*before, *part]).fetchall()


@contextmanager
def immediate_tx(
    conn: sqlite3.Connection, lock: AbstractContextManager[Any]
) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``conn`` (autocommit mode) under ``lock``: taken at once
    (``BEGIN IMMEDIATE``, so a writer in another process waits out the busy timeout rather than
    failing half-way), rolled back on any error. Every SQLite owner of the data directory's file
    (documents, jobs, feeds, wire copies) writes through it."""
    with lock:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the local SQLite file as every store here uses it: autocommit (writes go
    through ``immediate_tx``), WAL, ``synchronous=FULL``, rows by column name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.DatabaseError as e:
        raise StorageError(f"Cannot open the database at {path}: {e}") from e
    return conn
