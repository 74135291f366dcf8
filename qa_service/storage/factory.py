"""The one place that chooses the storage backend: SQLite + FAISS + BM25, or Milvus.

The service and ``qa-service migrate`` both open stores here, so a new backend is added once.
"""

from __future__ import annotations

from typing import Literal

from ..config import Settings
from .local import LocalSearcher
from .protocols import DocumentStore, SearchIndex
from .sqlite import SQLiteStore

Backend = Literal["faiss", "milvus"]


def open_store(settings: Settings, dim: int, backend: Backend | None = None) -> DocumentStore:
    """The document store of ``backend`` (default: ``QA_VECTOR_STORE``) for ``dim``-d vectors."""
    if (backend or settings.vector_store) == "milvus":
        from .milvus.store import MilvusStore

        return MilvusStore(settings, dim)
    return SQLiteStore(settings.db_path)


def open_search(
    settings: Settings, store: DocumentStore, *, dim: int, signature: str
) -> SearchIndex:
    """The search index over ``store``: Milvus searches itself; SQLite gets FAISS + BM25.

    ``signature`` names the embedding model; a FAISS file built by another one is rebuilt.
    """
    if not isinstance(store, SQLiteStore):
        from .milvus.search import MilvusSearcher
        from .milvus.store import MilvusStore

        if not isinstance(store, MilvusStore):
            raise TypeError(f"no search index for {type(store).__name__}")
        return MilvusSearcher(store, rrf_k=settings.rrf_k)
    return LocalSearcher(
        store,
        dim=dim,
        signature=signature,
        index_path=settings.index_path,
        with_titles=settings.embed_titles,
        rrf_k=settings.rrf_k,
        save_interval_s=settings.index_save_interval_s,
        index_kind=settings.index_kind,
        ann_threshold=settings.ann_threshold,
        nprobe=settings.ivf_nprobe,
    )
