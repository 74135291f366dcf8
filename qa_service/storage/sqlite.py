"""SQLite store: the source of truth for documents, chunks and their vectors.

The FAISS and BM25 indexes are derived from it and can always be rebuilt from it. SQLite runs in
WAL mode with ``synchronous=FULL``: a write that returned is on disk, whatever happens next.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import StorageError
from .jobs import JobStore
from .localdb import connect, immediate_tx, select_in
from .types import (
    ChunkRow,
    DocumentWrite,
    Filters,
    NewChunk,
    StoredDocument,
    TxHook,
    keyword_text,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT,
    url TEXT,
    published_at TEXT,
    source TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    index_hash TEXT NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_published ON documents(published_at);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
"""

SCHEMA_VERSION = "1"

_DOC_COLUMNS = (
    "id, text, title, url, published_at, source, metadata, content_hash, index_hash, "
    "chunk_count, created_at, updated_at"
)


def _row_to_doc(row: sqlite3.Row) -> StoredDocument:
    return StoredDocument(
        id=row["id"],
        text=row["text"],
        title=row["title"],
        url=row["url"],
        published_at=row["published_at"],
        source=row["source"],
        metadata=json.loads(row["metadata"]),
        content_hash=row["content_hash"],
        index_hash=row["index_hash"],
        chunk_count=row["chunk_count"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _unpack_vectors(
    rows: Sequence[Sequence[Any]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows])


class SQLiteStore:
    """Thread-safe access to one SQLite database (one connection, serialised by a lock)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)
        try:
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            self._conn.close()
            raise StorageError(f"Cannot open the database at {path}: {e}") from e
        self._lock = threading.RLock()
        #: The jobs table, on this connection: a job's progress commits with its documents.
        self.jobs = JobStore(self._conn, self._lock)
        if self.get_meta("schema_version") is None:
            self.set_meta("schema_version", SCHEMA_VERSION)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_tx(self._conn, self._lock)

    # --- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def data_version(self) -> int:
        """Changes when another connection (another process) commits to the database."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    # --- documents ----------------------------------------------------------------------------
    def get_document(self, doc_id: str) -> StoredDocument | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else _row_to_doc(row)

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredDocument]:
        out: dict[str, StoredDocument] = {}
        with self._lock:
            sql = f"SELECT {_DOC_COLUMNS} FROM documents WHERE id IN ({{marks}})"
            for rows in select_in(self._conn, sql, doc_ids):
                out.update((r["id"], _row_to_doc(r)) for r in rows)
        return out

    def list_documents(self, limit: int, offset: int) -> tuple[list[StoredDocument], int]:
        with self._lock:
            total = int(self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
            rows = self._conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents ORDER BY rowid LIMIT ? OFFSET ?",
                (limit, offset),
            ).fetchall()
        return [_row_to_doc(r) for r in rows], total

    def count_documents(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def count_chunks(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def write(
        self, writes: Sequence[DocumentWrite], after: TxHook | None = None
    ) -> tuple[list[int], list[int]]:
        """Apply all writes in one transaction; returns (removed chunk ids, added chunk ids).

        ``after`` runs last inside the same transaction (a job records its progress there, so
        the progress and the documents it counts are committed together or not at all).
        """
        removed: list[int] = []
        added: list[int] = []
        with self._tx() as c:
            for w in writes:
                d = w.doc
                c.execute(
                    "INSERT INTO documents (id, title, url, published_at, source, metadata, text,"
                    " content_hash, index_hash, chunk_count, created_at, updated_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET title=excluded.title, url=excluded.url,"
                    " published_at=excluded.published_at, source=excluded.source,"
                    " metadata=excluded.metadata, text=excluded.text,"
                    " content_hash=excluded.content_hash, index_hash=excluded.index_hash,"
                    " chunk_count=excluded.chunk_count, updated_at=excluded.updated_at",
                    (
                        d.id,
                        d.title,
                        d.url,
                        d.published_at,
                        d.source,
                        json.dumps(d.metadata, ensure_ascii=False),
                        d.text,
                        d.content_hash,
                        d.index_hash,
                        d.chunk_count,
                        d.created_at,
                        d.updated_at,
                    ),
                )
                if w.chunks is None:
                    continue
                removed.extend(
                    r[0] for r in c.execute("SELECT id FROM chunks WHERE doc_id = ?", (d.id,))
                )
                c.execute("DELETE FROM chunks WHERE doc_id = ?", (d.id,))
                for ch in w.chunks:
                    cur = c.execute(
                        'INSERT INTO chunks (doc_id, ord, start, "end", vector) VALUES (?,?,?,?,?)',
                        (d.id, ch.ord, ch.start, ch.end, ch.vector.astype(np.float32).tobytes()),
                    )
                    assert cur.lastrowid is not None
                    added.append(cur.lastrowid)
            if after is not None:
                after(c)
        return removed, added

    def delete_document(self, doc_id: str) -> list[int] | None:
        """Delete a document and its chunks; returns the removed chunk ids, None if absent."""
        with self._tx() as c:
            if c.execute("SELECT 1 FROM documents WHERE id = ?", (doc_id,)).fetchone() is None:
                return None
            ids = [r[0] for r in c.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
            c.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            c.execute("DELETE FROM documents WHERE id = ?", (doc_id,))
        return ids

    def in_transaction(self, hook: TxHook) -> None:
        with self._tx() as c:
            hook(c)

    def export_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[NewChunk]]:
        """Each document's chunks with their vectors (to copy them into another store)."""
        out: dict[str, list[NewChunk]] = {d: [] for d in doc_ids}
        with self._lock:
            sql = (
                'SELECT doc_id, ord, start, "end", vector FROM chunks'
                " WHERE doc_id IN ({marks}) ORDER BY doc_id, ord"
            )
            for rows in select_in(self._conn, sql, doc_ids):
                for r in rows:
                    vec = np.frombuffer(r[4], dtype=np.float32)
                    out[r[0]].append(NewChunk(r[1], r[2], r[3], vec))
        return out

    # --- chunks -------------------------------------------------------------------------------
    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks with their text (sliced from the document) and document metadata."""
        out: dict[int, ChunkRow] = {}
        with self._lock:
            sql = (
                'SELECT c.id, c.doc_id, c.ord, c.start, c."end", d.text, d.title, d.url,'
                " d.published_at, d.source FROM chunks c JOIN documents d ON d.id = c.doc_id"
                " WHERE c.id IN ({marks})"
            )
            for rows in select_in(self._conn, sql, [int(x) for x in chunk_ids]):
                for r in rows:
                    out[r[0]] = ChunkRow(
                        id=r[0],
                        doc_id=r[1],
                        ord=r[2],
                        start=r[3],
                        end=r[4],
                        text=r[5][r[3] : r[4]],
                        title=r[6],
                        url=r[7],
                        published_at=r[8],
                        source=r[9],
                    )
        return out

    def chunk_ids(self) -> npt.NDArray[np.int64]:
        with self._lock:
            rows = self._conn.execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors(
        self, chunk_ids: Sequence[int] | None = None, batch: int = 20_000
    ) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """Yield (ids, vectors) batches, all chunks or the given ones, for (re)building indexes.

        Reads in keyset-paginated batches, taking the lock per batch, so a rebuild of a large
        index neither holds every vector in memory twice nor blocks other readers throughout.
        """
        if chunk_ids is not None:
            sql = "SELECT id, vector FROM chunks WHERE id IN ({marks})"
            batches = select_in(self._conn, sql, [int(x) for x in chunk_ids])
            while True:
                with self._lock:  # per batch: each query runs inside next()
                    rows = next(batches, None)
                if rows is None:
                    return
                if rows:
                    yield _unpack_vectors(rows)
        last = -1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield _unpack_vectors(rows)

    def chunk_texts(self, with_titles: bool) -> Iterator[tuple[int, str]]:
        """(chunk id, text) for every chunk, the title prefixed when asked (for BM25)."""
        with self._lock:
            rows = self._conn.execute(
                'SELECT c.id, c.start, c."end", d.id FROM chunks c JOIN documents d'
                " ON d.id = c.doc_id ORDER BY d.id, c.ord"
            ).fetchall()
            docs: dict[str, tuple[str, str | None]] = {}
            for r in rows:
                if r[3] not in docs:
                    d = self._conn.execute(
                        "SELECT text, title FROM documents WHERE id = ?", (r[3],)
                    ).fetchone()
                    docs = {r[3]: (d[0], d[1])}  # keep one document's text in memory at a time
                text, title = docs[r[3]]
                body = text[r[1] : r[2]]
                yield r[0], keyword_text(title if with_titles else None, body)

    def filter_chunk_ids(self, filters: Filters) -> npt.NDArray[np.int64]:
        """Ids of the chunks whose documents match every given filter."""
        where: list[str] = []
        params: list[Any] = []
        if filters.doc_ids is not None:
            where.append(f"d.id IN ({','.join('?' * len(filters.doc_ids))})")
            params.extend(filters.doc_ids)
        if filters.sources is not None:
            where.append(f"d.source IN ({','.join('?' * len(filters.sources))})")
            params.extend(filters.sources)
        if filters.published_after is not None:
            where.append("d.published_at >= ?")
            params.append(filters.published_after)
        if filters.published_before is not None:
            where.append("d.published_at <= ?")
            params.append(filters.published_before)
        sql = "SELECT c.id FROM chunks c JOIN documents d ON d.id = c.doc_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
