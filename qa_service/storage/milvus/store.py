"""Milvus backend (``QA_VECTOR_STORE=milvus``): documents, chunks and vectors in Milvus, so several
replicas or machines share one store.

``QA_MILVUS_URI`` is a local file for Milvus Lite (``data/milvus.db``, one process) or a server
(``http://host:19530``: a Milvus cluster, or ``milvus-lite server`` for replicas on one machine).

Keyword search is Milvus' own BM25 full-text search (a BM25 function over the chunk text with an
English stemming analyzer): the index lives where the vectors live, every replica sees the same
one, and nothing has to be rebuilt per process, which the in-process bm25s index would need.

Milvus has no transactions across rows, so updates stay atomic for readers another way: every
chunk carries the ``index_hash`` of the document version it belongs to, and search keeps only
chunks whose hash matches their document's current row. An update inserts the new chunks (still
invisible), then switches the document row (old chunks invisible, new ones visible), then deletes
the old chunks. Ingestion jobs and their progress stay in the replica's local SQLite file.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...config import Settings
from ..jobs import JobStore
from ..types import (
    DocumentWrite,
    Filters,
    NewChunk,
    StoredDocument,
    TxHook,
    keyword_text,
)
from .schema import Collections, connect, open_collections

log = logging.getLogger(__name__)

_PART_CHARS = 15_000  # a VARCHAR holds 65,535 bytes: 15k characters fit in any UTF-8
_CHUNK_FIELDS = [
    "doc_id", "ord", "start", "end", "text", "title", "url", "published_at", "source",
    "index_hash",
]  # fmt: skip
_DOC_FIELDS = [
    "id", "title", "url", "published_at", "source", "metadata", "content_hash", "index_hash",
    "chunk_count", "created_at", "updated_at", "seq",
]  # fmt: skip
_BATCH = 1000
#: Rows written since the last flush before the chunk collection is flushed. Milvus indexes
#: sealed segments only; unflushed rows are searched by brute force (at 100k chunks in Milvus
#: Lite: seconds per query instead of tens of milliseconds).
_FLUSH_ROWS = 5000
#: A meta row ``pending:<id>`` names the documents a write or a delete is changing, and is removed
#: when it is done. One left behind means its process died half-way, leaving rows that no reader
#: sees but that are counted, weigh in BM25 statistics, and double a document's text if the same
#: version is posted again: the next open removes them (see ``_finish_interrupted``).
_PENDING = "pending:"
#: A server's pending rows this old are from a dead writer (no write takes an hour); younger ones
#: may be another replica's write in progress. A Milvus Lite file has one process: all are dead.
_PENDING_STALE_S = 3600.0


def _q(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value)


def _in(field: str, values: Sequence[str]) -> str:
    """The Milvus filter ``field in [...]``."""
    return f"{field} in [{', '.join(_q(v) for v in values)}]"


def filter_expr(filters: Filters | None) -> str:
    """The Milvus boolean expression for search filters ("" = everything)."""
    if filters is None:
        return ""
    parts = []
    if filters.doc_ids is not None:
        parts.append(_in("doc_id", filters.doc_ids))
    if filters.sources is not None:
        parts.append(_in("source", filters.sources))
    if filters.published_after is not None:
        parts.append(f"published_at >= {_q(filters.published_after)}")
    if filters.published_before is not None:
        parts.append(f'published_at <= {_q(filters.published_before)} and published_at != ""')
    return " and ".join(parts)


class MilvusStore:
    """DocumentStore on Milvus (documents, text parts, chunks + vectors); ``jobs`` is a JobStore
    on the local SQLite file."""

    def __init__(self, settings: Settings, dim: int) -> None:
        self.client, self.uri = connect(settings)
        self.dim = dim
        names = Collections.of(settings)
        self.docs, self.parts, self.chunks, self.meta = (
            names.docs, names.parts, names.chunks, names.meta
        )  # fmt: skip
        self._lock = threading.RLock()
        self._unflushed = 0
        try:
            # create what is missing, load what a restart left released (see milvus_schema)
            open_collections(self.client, self.uri, names, dim, settings.milvus_timeout_s)
            self._finish_interrupted(lite="://" not in self.uri)
            self.jobs = JobStore.open(settings.db_path)  # jobs stay in the local SQLite file
        except BaseException:
            self.client.close()
            raise

    # --- interrupted writes ---------------------------------------------------------------------
    def _begin(self, doc_ids: Sequence[str]) -> str:
        key = f"{_PENDING}{uuid.uuid4().hex}"
        self.set_meta(key, json.dumps({"ids": list(doc_ids), "at": time.time()}))
        return key

    def _end(self, key: str) -> None:
        self.client.delete(self.meta, ids=[key])

    def _finish_interrupted(self, lite: bool) -> None:
        """Remove what writes and deletes killed half-way had added: for each document they
        named, every chunk and text part that is not its current version's (all of them if the
        document has no row)."""
        rows = self.client.query(
            self.meta, filter=f"key like {_q(_PENDING + '%')}", output_fields=["key", "value"]
        )
        for row in rows:
            intent = json.loads(row["value"])
            if not lite and time.time() - float(intent["at"]) < _PENDING_STALE_S:
                continue
            current = self._doc_rows(intent["ids"])
            for d in intent["ids"]:
                doc = current.get(d)
                same = f"doc_id == {_q(d)}"
                chunks = f" and index_hash != {_q(doc['index_hash'])}" if doc else ""
                parts = f" and version != {_q(doc['content_hash'])}" if doc else ""
                self.client.delete(self.chunks, filter=same + chunks)
                self.client.delete(self.parts, filter=same + parts)
            self._end(row["key"])
            log.warning("Milvus: cleaned up after a write interrupted at %s", intent["ids"][:5])

    # --- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.client.query(self.meta, filter=f"key == {_q(key)}", output_fields=["value"])
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.client.upsert(self.meta, [{"key": key, "value": value, "v": [0.0, 0.0]}])

    # --- documents ----------------------------------------------------------------------------
    def _texts(self, docs: dict[str, dict[str, Any]]) -> dict[str, str]:
        out: dict[str, dict[int, str]] = {d: {} for d in docs}  # by part: a duplicate is harmless
        ids = list(docs)
        for i in range(0, len(ids), 100):
            part = ids[i : i + 100]
            rows = self.client.query(
                self.parts,
                filter=_in("doc_id", part),
                output_fields=["doc_id", "part", "text", "version"],
                limit=16384,
            )
            for r in rows:
                if r["version"] == docs[r["doc_id"]]["content_hash"]:
                    out[r["doc_id"]][r["part"]] = r["text"]
        return {d: "".join(parts[i] for i in sorted(parts)) for d, parts in out.items()}

    def _doc_rows(self, doc_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = {}
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i : i + 500]
            for r in self.client.query(
                self.docs,
                filter=_in("id", part),
                output_fields=_DOC_FIELDS,
            ):
                rows[r["id"]] = r
        return rows

    @staticmethod
    def _to_doc(row: dict[str, Any], text: str) -> StoredDocument:
        return StoredDocument(
            id=row["id"],
            text=text,
            title=row["title"] or None,
            url=row["url"] or None,
            published_at=row["published_at"] or None,
            source=row["source"] or None,
            metadata=row["metadata"] or {},
            content_hash=row["content_hash"],
            index_hash=row["index_hash"],
            chunk_count=int(row["chunk_count"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredDocument]:
        rows = self._doc_rows(list(dict.fromkeys(doc_ids)))
        texts = self._texts(rows)
        return {d: self._to_doc(r, texts[d]) for d, r in rows.items()}

    def get_document(self, doc_id: str) -> StoredDocument | None:
        return self.get_documents([doc_id]).get(doc_id)

    def list_documents(self, limit: int, offset: int) -> tuple[list[StoredDocument], int]:
        # Milvus queries have no ORDER BY: order by the creation sequence here.
        rows = self._query_all(self.docs, ["id", "seq"])
        rows.sort(key=lambda r: (r["seq"], r["id"]))
        page = [r["id"] for r in rows[offset : offset + limit]]
        docs = self.get_documents(page)
        return [docs[d] for d in page if d in docs], len(rows)

    def _query_all(
        self, collection: str, fields: list[str], expr: str = ""
    ) -> list[dict[str, Any]]:
        iterator = self.client.query_iterator(
            collection, batch_size=_BATCH, filter=expr, output_fields=fields
        )
        out: list[dict[str, Any]] = []
        try:
            while batch := iterator.next():
                out.extend(batch)
        finally:
            iterator.close()
        return out

    def _count(self, collection: str) -> int:
        rows = self.client.query(collection, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def count_documents(self) -> int:
        return self._count(self.docs)

    def count_chunks(self) -> int:
        return self._count(self.chunks)

    def write(
        self, writes: Sequence[DocumentWrite], after: TxHook | None = None
    ) -> tuple[list[int], list[int]]:
        """New chunks and text first (invisible), then the document rows (the switch), then the
        old versions of updated documents are deleted. Batched: one insert per kind of row."""
        added: list[int] = []
        with self._lock:
            pending = self._begin([w.doc.id for w in writes])
            existing = self._doc_rows([w.doc.id for w in writes])
            chunk_rows = [self._chunk_row(w.doc, c) for w in writes if w.chunks for c in w.chunks]
            for i in range(0, len(chunk_rows), _BATCH):
                res = self.client.insert(self.chunks, chunk_rows[i : i + _BATCH])
                added.extend(int(x) for x in res["ids"])
            self._unflushed += len(chunk_rows)
            part_rows = [
                {"doc_id": w.doc.id, "part": i, "version": w.doc.content_hash,
                 "text": w.doc.text[start : start + _PART_CHARS], "v": [0.0, 0.0]}
                for w in writes
                for i, start in enumerate(range(0, max(len(w.doc.text), 1), _PART_CHARS))
            ]  # fmt: skip
            for i in range(0, len(part_rows), _BATCH):
                self.client.insert(self.parts, part_rows[i : i + _BATCH])
            now = time.time_ns()
            doc_rows = [
                self._doc_row(w.doc, existing.get(w.doc.id, {}).get("seq") or now + i)
                for i, w in enumerate(writes)
            ]
            for i in range(0, len(doc_rows), _BATCH):
                self.client.upsert(self.docs, doc_rows[i : i + _BATCH])
            for w in writes:  # only updated documents have an old version to remove
                d = w.doc
                if d.id not in existing:
                    continue
                self.client.delete(
                    self.parts, filter=f"doc_id == {_q(d.id)} and version != {_q(d.content_hash)}"
                )
                if w.chunks is not None:
                    self.client.delete(
                        self.chunks,
                        filter=f"doc_id == {_q(d.id)} and index_hash != {_q(d.index_hash)}",
                    )
            self._end(pending)
            if after is not None:
                self.jobs.in_transaction(after)  # after the Milvus writes: at least once
            if self._unflushed >= _FLUSH_ROWS:
                self.flush()
        return [], added

    def flush(self) -> None:
        """Seal what was written so Milvus indexes it (see ``_FLUSH_ROWS``)."""
        with self._lock:
            self.client.flush(self.chunks)
            self._unflushed = 0

    @staticmethod
    def _chunk_row(d: StoredDocument, c: NewChunk) -> dict[str, Any]:
        text = d.text[c.start : c.end]
        return {
            "doc_id": d.id,
            "ord": c.ord,
            "start": c.start,
            "end": c.end,
            "text": text,
            "bm25_text": keyword_text(d.title, text),
            "title": d.title or "",
            "url": d.url or "",
            "published_at": d.published_at or "",
            "source": d.source or "",
            "index_hash": d.index_hash,
            "vector": c.vector.tolist(),
        }

    @staticmethod
    def _doc_row(d: StoredDocument, seq: int) -> dict[str, Any]:
        return {
            "id": d.id,
            "title": d.title or "",
            "url": d.url or "",
            "published_at": d.published_at or "",
            "source": d.source or "",
            "metadata": d.metadata,
            "content_hash": d.content_hash,
            "index_hash": d.index_hash,
            "chunk_count": d.chunk_count,
            "created_at": d.created_at,
            "updated_at": d.updated_at,
            "seq": seq,
            "v": [0.0, 0.0],
        }

    def export_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[NewChunk]]:
        """Each document's current chunks with their vectors (to copy them into another store)."""
        rows = self._doc_rows(list(doc_ids))
        out: dict[str, list[NewChunk]] = {d: [] for d in doc_ids}
        for d, row in rows.items():
            chunks = self._query_all(
                self.chunks,
                ["ord", "start", "end", "vector", "index_hash"],
                f"doc_id == {_q(d)}",
            )
            out[d] = sorted(
                (
                    NewChunk(c["ord"], c["start"], c["end"], np.asarray(c["vector"], np.float32))
                    for c in chunks
                    if c["index_hash"] == row["index_hash"]
                ),
                key=lambda c: c.ord,
            )
        return out

    def delete_document(self, doc_id: str) -> list[int] | None:
        with self._lock:
            if not self._doc_rows([doc_id]):
                return None
            pending = self._begin([doc_id])
            self.client.delete(self.docs, ids=[doc_id])  # invisible from here on
            self.client.delete(self.chunks, filter=f"doc_id == {_q(doc_id)}")
            self.client.delete(self.parts, filter=f"doc_id == {_q(doc_id)}")
            self._end(pending)
        return []

    def in_transaction(self, hook: TxHook) -> None:
        """Run ``hook`` in a transaction on the local SQLite file (job progress, wire links)."""
        self.jobs.in_transaction(hook)

    def close(self) -> None:
        if self._unflushed:
            try:
                self.flush()
            except Exception as e:  # closing must not fail; the rows are stored either way
                log.warning("Milvus flush at close failed: %s", e)
        self.jobs.close()
        self.client.close()
