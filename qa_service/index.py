"""FAISS vector index keyed by chunk id, derived from the SQLite store and saved atomically."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]


def fsync_replace(tmp: Path, target: Path) -> None:
    """Make ``tmp`` durable, then atomically move it over ``target``."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(target)
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class VectorIndex:
    """Exact inner-product search (cosine on normalised vectors) with ids and deletes.

    Not thread-safe on its own: the service serialises access.
    """

    def __init__(self, dim: int, signature: str) -> None:
        self.dim = dim
        #: The embedder that produced the vectors; an index for another one is never reused.
        self.signature = signature
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> Ids:
        ids: Ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids

    def add(self, ids: Ids, vectors: npt.NDArray[np.float32]) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: Ids | list[int]) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(
        self, query: npt.NDArray[np.float32], k: int, allowed: Ids | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, cosine) for one query vector, restricted to ``allowed`` ids."""
        limit = self.size if allowed is None else min(self.size, len(allowed))
        k = min(k, limit)
        if k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is None:
            scores, ids = self._index.search(q, k)
        else:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            scores, ids = self._index.search(q, k, params=faiss.SearchParameters(sel=sel))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write temp files, fsync, rename: a crash leaves the old index or the new one."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        fsync_replace(tmp, path)
        meta = path.with_name(path.name + ".json")
        tmp_meta = meta.with_name(meta.name + ".tmp")
        tmp_meta.write_text(json.dumps({"signature": self.signature, "dim": self.dim}))
        fsync_replace(tmp_meta, meta)

    @classmethod
    def load(cls, path: Path, dim: int, signature: str) -> VectorIndex | None:
        """The saved index, or None when it is missing, for another embedder, or unreadable."""
        meta = path.with_name(path.name + ".json")
        if not path.exists() or not meta.exists():
            return None
        try:
            info = json.loads(meta.read_text())
            if info.get("signature") != signature or info.get("dim") != dim:
                log.warning("index at %s was built by another embedding model; rebuilding", path)
                return None
            raw = faiss.read_index(str(path))
            if not isinstance(raw, faiss.IndexIDMap2) or raw.d != dim:
                raise ValueError(f"unexpected index type {type(raw).__name__}")
        except Exception as e:
            log.warning(
                "index file %s is unreadable (%s); rebuilding it from the database", path, e
            )
            return None
        index = cls(dim, signature)
        index._index = raw
        return index
