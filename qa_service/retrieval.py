"""Hybrid retrieval: FAISS (dense) + BM25 (keyword), fused by reciprocal rank.

The ``Retriever`` owns the derived indexes and keeps them in step with the SQLite store: it
catches up at start (missing, stale or corrupt index file), after writes by other processes
(``PRAGMA data_version``), and applies this process's writes under one lock, so a reader never
sees a document's old and new chunks together, or neither.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from .index import VectorIndex
from .lexical import LexicalIndex
from .store import ChunkRow, Filters, SQLiteStore

log = logging.getLogger(__name__)

SearchMode = Literal["hybrid", "dense", "keyword"]


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: ChunkRow
    score: float
    dense_score: float | None
    keyword_score: float | None


class Retriever:
    """Dense + keyword indexes over the store's chunks, serialised by one lock."""

    def __init__(
        self,
        store: SQLiteStore,
        *,
        dim: int,
        signature: str,
        index_path: Path | None,
        with_titles: bool,
        rrf_k: int = 60,
        save_interval_s: float = 30.0,
    ) -> None:
        self.store = store
        self.lock = threading.RLock()
        self._path = index_path
        self._with_titles = with_titles
        self._rrf_k = rrf_k
        self._save_interval_s = save_interval_s
        self._last_save = time.monotonic()
        self._dirty = False
        loaded = VectorIndex.load(self._path, dim, signature) if self._path else None
        self.vectors = loaded or VectorIndex(dim, signature)
        self.lexical = LexicalIndex()
        self._data_version = store.data_version()
        with self.lock:
            changed = self._catch_up()
        if changed or loaded is None:
            self.save()

    # --- keeping in step with the store -------------------------------------------------------
    def _catch_up(self) -> bool:
        """Make the vector index hold exactly the store's chunks; True if anything changed."""
        db_ids = self.store.chunk_ids()
        idx_ids = self.vectors.ids()
        extra = np.setdiff1d(idx_ids, db_ids, assume_unique=True)
        missing = np.setdiff1d(db_ids, idx_ids, assume_unique=True)
        if len(extra):
            self.vectors.remove(extra)
        for ids, vecs in self.store.vectors(missing.tolist() if len(missing) else []):
            self.vectors.add(ids, vecs)
        if len(extra) or len(missing):
            log.info(
                "vector index caught up with the database: +%d -%d chunks (%d total)",
                len(missing),
                len(extra),
                self.vectors.size,
            )
            self.lexical.stale = True
            self._dirty = True
            return True
        return False

    def _sync(self) -> None:
        """Called under the lock before reading: pick up other processes' commits, rebuild BM25."""
        version = self.store.data_version()
        if version != self._data_version:
            self._data_version = version
            self._catch_up()
            self.lexical.stale = True
        if self.lexical.stale:
            self.lexical.rebuild(self.store.chunk_texts(self._with_titles))

    def apply(self, removed: list[int], added: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Reflect a committed store write. Call with ``lock`` held, right after the commit."""
        try:
            self.vectors.remove(removed)
            self.vectors.add(np.asarray(added, dtype=np.int64), vectors)
        except Exception:
            log.exception("vector index update failed; catching up from the database")
            self._catch_up()
        self.lexical.stale = True
        self._dirty = True

    def maybe_save(self) -> None:
        if self._dirty and time.monotonic() - self._last_save >= self._save_interval_s:
            self.save()

    def save(self) -> None:
        if self._path is None:
            return
        with self.lock:
            self.vectors.save(self._path)
            self._dirty = False
            self._last_save = time.monotonic()

    # --- search -------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        """The ``top_k`` best chunks; filters restrict candidates before the cut."""
        depth = max(top_k * 4, 40)
        with self.lock:
            self._sync()
            allowed = None
            if filters is not None and not filters.is_empty():
                allowed = self.store.filter_chunk_ids(filters)
                if len(allowed) == 0:
                    return []
            dense = self.vectors.search(query_vector, depth, allowed) if mode != "keyword" else []
            keyword = self.lexical.search(query, depth, allowed) if mode != "dense" else []
            fused = self._fuse(dense, keyword)
            rows = self.store.chunk_rows([cid for cid, _ in fused[: top_k * 2]])
        dense_scores = dict(dense)
        keyword_scores = dict(keyword)
        best = 2.0 / (self._rrf_k + 1) if mode == "hybrid" else 1.0 / (self._rrf_k + 1)
        hits = [
            Hit(rows[cid], min(1.0, score / best), dense_scores.get(cid), keyword_scores.get(cid))
            for cid, score in fused
            if cid in rows  # a chunk deleted by another process since the index last synced
        ]
        return hits[:top_k]

    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over the indexed chunks."""
        with self.lock:
            self._sync()
            return self.lexical.idf(stems)

    def _fuse(
        self, dense: list[tuple[int, float]], keyword: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        scores: dict[int, float] = {}
        for ranking in (dense, keyword):
            for rank, (cid, _) in enumerate(ranking):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (self._rrf_k + rank + 1)
        return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
