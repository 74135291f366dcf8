"""Copy a store into another backend (FAISS+SQLite <-> Milvus) without embedding anything again.

Documents are copied with their chunks and vectors in pages; the target's own search index
(FAISS file, BM25) is built from what was copied the next time the service opens it. Copying into
a store that already holds documents overwrites those with the same ids and keeps the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Settings
from .factory import Backend, open_store
from .protocols import DocumentStore
from .types import DocumentWrite


def vector_dim(store: DocumentStore) -> int | None:
    """The dimension of the stored vectors (None for an empty store)."""
    offset = 0
    while docs := store.list_documents(50, offset)[0]:
        for chunks in store.export_chunks([d.id for d in docs]).values():
            if chunks:
                return int(chunks[0].vector.shape[0])
        offset += len(docs)
    return None


def migrate(
    settings: Settings,
    source: Backend,
    target: Backend,
    *,
    batch: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Copy every document of ``source`` into ``target`` (both configured by ``settings``);
    returns the number of documents copied."""
    if source == target:
        raise ValueError("source and target are the same backend")
    src = open_store(settings, 0 if source == "faiss" else _peek_dim(settings), source)
    try:
        dim = vector_dim(src)
        if dim is None:
            return 0
        dst = open_store(settings, dim, target)
        try:
            total = src.count_documents()
            copied = 0
            while docs := src.list_documents(batch, copied)[0]:
                chunks = src.export_chunks([d.id for d in docs])
                dst.write([DocumentWrite(d, chunks[d.id]) for d in docs])
                copied += len(docs)
                if progress:
                    progress(copied, total)
            config = src.get_meta("index_config")
            if config is not None:
                dst.set_meta("index_config", config)
            return copied
        finally:
            dst.close()
    finally:
        src.close()


def _peek_dim(settings: Settings) -> int:
    """The dimension of an existing Milvus chunk collection (needed to open it)."""
    from .milvus.schema import chunks_collection, connect, stored_dim

    client, uri = connect(settings)
    try:
        name = chunks_collection(settings)
        dim = stored_dim(client, name) if client.has_collection(name) else None
        if dim is None:
            raise ValueError(f"There is no Milvus collection {name} at {uri} to copy from.")
        return dim
    finally:
        client.close()
