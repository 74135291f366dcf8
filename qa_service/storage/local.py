"""Hybrid retrieval: FAISS (dense) + BM25 (keyword), fused by reciprocal rank.

The ``LocalSearcher`` owns the derived indexes and keeps them in step with the SQLite store: it
catches up at start (missing, stale or corrupt index file), after writes by other processes
(``PRAGMA data_version``), and applies this process's writes under one lock, so a reader never
sees a document's old and new chunks together, or neither.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .bm25 import Bm25Part, LexicalIndex
from .fusion import make_hits, rrf_fuse
from .sqlite import SQLiteStore
from .types import ChunkRow, Filters, Hit, SearchMode, keyword_text
from .vectors import IndexKind, VectorIndex, build_index

log = logging.getLogger(__name__)


class LocalSearcher:
    """Dense + keyword indexes over the store's chunks, serialised by one lock.

    Slow maintenance (building an IVF index when the corpus outgrows exact search, retraining
    it when it has doubled, rebuilding the BM25 main index) runs in a background thread on a
    snapshot; the result is caught up with the database and swapped in under the lock, so
    searches never wait for it.
    """

    #: Up to this many chunks the BM25 index is built before the service starts serving.
    SYNC_BM25_CHUNKS = 20_000

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
        index_kind: Literal["auto", "flat", "ivf"] = "auto",
        ann_threshold: int = 100_000,
        nprobe: int = 16,
    ) -> None:
        self.store = store
        self.lock = threading.RLock()
        self._path = index_path
        self._with_titles = with_titles
        self._rrf_k = rrf_k
        self._save_interval_s = save_interval_s
        self._index_kind = index_kind
        self._ann_threshold = ann_threshold
        self._nprobe = nprobe
        self._dim = dim
        self._signature = signature
        self._last_save = time.monotonic()
        self._dirty = False
        self._tasks: dict[str, threading.Thread] = {}
        self._closed = False
        self.lexical = LexicalIndex()
        size = store.count_chunks()
        loaded = VectorIndex.load(index_path, dim, signature, nprobe) if index_path else None
        if loaded is not None and loaded.kind != self._desired_kind(size):
            loaded = None
        self.vectors = loaded or self._build_vectors(size)
        self._data_version = store.data_version()
        with self.lock:
            changed = self._catch_up(self.vectors)
        if changed or loaded is None:
            self.save()
        if size <= self.SYNC_BM25_CHUNKS:
            self._rebuild_lexical()
        else:  # big corpus: start serving now; hybrid search is dense-only until BM25 is in
            self._schedule("lexical", self._rebuild_lexical)

    def _desired_kind(self, size: int) -> IndexKind:
        if self._index_kind != "auto":
            return self._index_kind
        return "ivf" if size >= self._ann_threshold else "flat"

    def _build_vectors(self, size: int) -> VectorIndex:
        kind = self._desired_kind(size)
        return build_index(
            self._dim, self._signature, kind, size, self.store.vectors, nprobe=self._nprobe
        )

    # --- keeping in step with the store -------------------------------------------------------
    def _catch_up(self, index: VectorIndex) -> bool:
        """Make ``index`` hold exactly the store's chunks; True if anything changed."""
        db_ids = self.store.chunk_ids()
        idx_ids = index.ids()
        extra = np.setdiff1d(idx_ids, db_ids, assume_unique=True)
        missing = np.setdiff1d(db_ids, idx_ids, assume_unique=True)
        if len(extra):
            index.remove(extra)
        for ids, vecs in self.store.vectors(missing.tolist() if len(missing) else []):
            index.add(ids, vecs)
        if len(extra) or len(missing):
            log.info(
                "vector index caught up with the database: +%d -%d chunks (%d total)",
                len(missing),
                len(extra),
                index.size,
            )
            self.lexical.note_write(extra.tolist(), missing.tolist())
            self._dirty = True
            return True
        return False

    def _sync(self) -> None:
        """Called under the lock before reading: pick up other processes' commits, refresh the
        BM25 delta."""
        version = self.store.data_version()
        if version != self._data_version:
            self._data_version = version
            self._catch_up(self.vectors)
            self._maintain()
        if self.lexical.delta_stale:
            self.lexical.rebuild_delta(
                lambda ids: {
                    cid: self._bm25_text(r) for cid, r in self.store.chunk_rows(ids).items()
                }
            )

    def _bm25_text(self, row: ChunkRow) -> str:
        return keyword_text(row.title if self._with_titles else None, row.text)

    def apply(self, removed: list[int], added: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Reflect a committed store write. Call with ``lock`` held, right after the commit."""
        try:
            self.vectors.remove(removed)
            self.vectors.add(np.asarray(added, dtype=np.int64), vectors)
        except Exception:
            log.exception("vector index update failed; catching up from the database")
            self._catch_up(self.vectors)
        self.lexical.note_write(removed, added)
        self._dirty = True
        self._maintain()

    # --- background maintenance ---------------------------------------------------------------
    def _maintain(self) -> None:
        """Start the rebuilds the corpus now needs (called under the lock)."""
        size = self.vectors.size
        v = self.vectors
        if v.kind != self._desired_kind(size) or (v.kind == "ivf" and size > 2 * v.trained_size):
            self._schedule("vectors", self._rebuild_vectors)
        if self.lexical.needs_rebuild():
            self._schedule("lexical", self._rebuild_lexical)

    def _schedule(self, name: str, job: Callable[[], None]) -> None:
        running = self._tasks.get(name)
        if self._closed or (running is not None and running.is_alive()):
            return

        def run() -> None:
            try:
                job()
            except Exception:
                log.exception("background %s rebuild failed; will retry on a later write", name)

        thread = threading.Thread(target=run, name=f"qa-rebuild-{name}", daemon=True)
        self._tasks[name] = thread
        thread.start()

    def _rebuild_vectors(self) -> None:
        new = self._build_vectors(self.store.count_chunks())
        with self.lock:
            if self._closed:
                return
            self._catch_up(new)
            self.vectors = new
            self._dirty = True
        self.save()

    def _rebuild_lexical(self) -> None:
        part = Bm25Part.build(self.store.chunk_texts(self._with_titles), self.lexical.stemmer)
        with self.lock:
            if self._closed:
                return
            snapshot = set(part.ids.tolist())
            current = set(self.store.chunk_ids().tolist())
            self.lexical.set_main(part, current - snapshot, snapshot - current)

    def wait_idle(self, timeout: float = 600) -> None:
        """Wait for background rebuilds (tests, shutdown, benchmarks)."""
        deadline = time.monotonic() + timeout
        while True:
            running = [t for t in self._tasks.values() if t.is_alive()]
            if not running:
                return
            running[0].join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return

    def close(self) -> None:
        self.wait_idle()
        with self.lock:
            self._closed = True
        self.save()

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

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "kind": self.vectors.kind,
                "vectors": self.vectors.size,
                "keyword_chunks": self.lexical.size,
            }

    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]:
        """Inverse document frequency of stemmed terms over the indexed chunks."""
        with self.lock:
            self._sync()
            return self.lexical.idf(stems)

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
            fused = rrf_fuse([dense, keyword], self._rrf_k)
            rows = self.store.chunk_rows([cid for cid, _ in fused[: top_k * 2]])
        return make_hits(fused, rows, dense, keyword, mode, self._rrf_k)[:top_k]
