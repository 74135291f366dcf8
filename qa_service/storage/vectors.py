"""FAISS vector index keyed by chunk id, derived from the SQLite store and saved atomically.

Two kinds, picked by corpus size (``QA_INDEX_KIND=auto``): exact ``flat`` search for small
collections, and ``ivf`` (inverted lists over k-means cells, ``nprobe`` of them scanned per query)
beyond ``QA_ANN_THRESHOLD`` chunks. Both support deletes by id (``remove_ids``), so an update or a
delete never needs a rebuild.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import faiss
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
IndexKind = Literal["flat", "ivf"]


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


def choose_nlist(size: int) -> int:
    """About 2 * sqrt(N) cells: ~500 vectors per cell at 1M, enough points to train each."""
    return int(min(65536, max(16, 2 * math.sqrt(max(size, 1)))))


class VectorIndex:
    """Inner-product search (cosine on normalised vectors) with ids and deletes.

    Not thread-safe on its own: the searcher (``local.LocalSearcher``) serialises access.
    """

    def __init__(
        self, dim: int, signature: str, kind: IndexKind = "flat", nlist: int = 0, nprobe: int = 16
    ) -> None:
        self.dim = dim
        #: The embedder that produced the vectors; an index for another one is never reused.
        self.signature = signature
        self.kind: IndexKind = kind
        self.nprobe = nprobe
        #: Corpus size when the IVF cells were trained (retrain once it has doubled).
        self.trained_size = 0
        self._ids: set[int] = set()  # IVF only; the flat index keeps its own id map
        if kind == "flat":
            self._index: faiss.Index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        else:
            quantizer = faiss.IndexFlatIP(dim)
            self._index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            self._quantizer = quantizer  # keep the SWIG object alive as long as the index

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def nlist(self) -> int:
        return int(self._index.nlist) if self.kind == "ivf" else 0

    def ids(self) -> Ids:
        if self.kind == "flat":
            ids: Ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
            return ids
        return np.fromiter(self._ids, dtype=np.int64, count=len(self._ids))

    def train(self, sample: Vectors) -> None:
        """Learn the IVF cells from a sample of the corpus (no-op for a flat index)."""
        if self.kind == "ivf":
            self._index.cp.niter = 10
            self._index.train(np.ascontiguousarray(sample, dtype=np.float32))

    def add(self, ids: Ids, vectors: Vectors) -> None:
        if len(ids):
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )
            if self.kind == "ivf":
                self._ids.update(int(i) for i in ids)

    def remove(self, ids: Ids | list[int]) -> None:
        if len(ids):
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))
            if self.kind == "ivf":
                self._ids.difference_update(int(i) for i in ids)

    def search(self, query: Vectors, k: int, allowed: Ids | None = None) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, cosine) for one query vector, restricted to ``allowed`` ids."""
        limit = self.size if allowed is None else min(self.size, len(allowed))
        k = min(k, limit)
        if k <= 0:
            return []
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        sel = None
        if allowed is not None:
            sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
        if self.kind == "flat":
            params = None if sel is None else faiss.SearchParameters(sel=sel)
        else:
            # A filter leaves fewer candidates per cell: probe more cells, in proportion.
            share = 1.0 if allowed is None else max(len(allowed) / max(self.size, 1), 1e-9)
            nprobe = min(self.nlist, math.ceil(self.nprobe / share))
            params = faiss.SearchParametersIVF(nprobe=nprobe, sel=sel)
        scores, ids = self._index.search(q, k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    # --- persistence --------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write temp files, fsync, rename: a crash leaves the old index or the new one."""
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self._index, str(tmp))
        fsync_replace(tmp, path)
        meta = path.with_name(path.name + ".json")
        tmp_meta = meta.with_name(meta.name + ".tmp")
        info = {
            "signature": self.signature,
            "dim": self.dim,
            "kind": self.kind,
            "trained_size": self.trained_size,
        }
        tmp_meta.write_text(json.dumps(info))
        fsync_replace(tmp_meta, meta)

    @classmethod
    def load(cls, path: Path, dim: int, signature: str, nprobe: int = 16) -> VectorIndex | None:
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
            kind = info.get("kind", "flat")
            expected = faiss.IndexIDMap2 if kind == "flat" else faiss.IndexIVFFlat
            if not isinstance(raw, expected) or raw.d != dim:
                raise ValueError(f"unexpected index type {type(raw).__name__}")
        except Exception as e:
            log.warning(
                "index file %s is unreadable (%s); rebuilding it from the database", path, e
            )
            return None
        index = cls(dim, signature, kind, max(1, getattr(raw, "nlist", 1)), nprobe)
        index._index = raw
        index.trained_size = int(info.get("trained_size", 0))
        if kind == "ivf":
            invlists = raw.invlists
            for cell in range(raw.nlist):
                n = invlists.list_size(cell)
                if n:
                    ids = faiss.rev_swig_ptr(invlists.get_ids(cell), n)
                    index._ids.update(int(i) for i in ids)
        return index


def build_index(
    dim: int,
    signature: str,
    kind: IndexKind,
    size: int,
    batches: Callable[[], Iterator[tuple[Ids, Vectors]]],
    nprobe: int = 16,
    seed: int = 0,
) -> VectorIndex:
    """A new index over every vector ``batches()`` yields (called twice for IVF: a sample to
    train the cells, then everything)."""
    if kind == "flat":
        index = VectorIndex(dim, signature)
    else:
        nlist = choose_nlist(size)
        index = VectorIndex(dim, signature, "ivf", nlist, nprobe)
        want = min(size, max(nlist * 40, 10_000))  # FAISS wants >= 39 points per cell
        rng = np.random.default_rng(seed)
        picked = [v[rng.random(len(v)) < want / max(size, 1)] for _, v in batches()]
        sample = np.concatenate(picked) if picked else np.zeros((0, dim), np.float32)
        if len(sample) < nlist:
            raise ValueError(f"{len(sample)} vectors are too few to train {nlist} IVF cells")
        index.train(sample)
        index.trained_size = size
    for ids, vecs in batches():
        index.add(ids, vecs)
    log.info("built %s index over %d vectors", kind, index.size)
    return index
