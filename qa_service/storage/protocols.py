"""The two seams between the service and where data lives, so backends can be swapped.

* ``DocumentStore``: documents, their chunks and vectors, metadata, and a ``jobs.JobStore``
  (``sqlite.SQLiteStore``; ``milvus.store.MilvusStore``).
* ``Searcher``: hybrid search over the chunks (``local.LocalSearcher``: FAISS + BM25 derived
  from SQLite; ``milvus.search.MilvusSearcher``: Milvus dense + BM25 full-text search).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .jobs import JobStore
from .types import DocumentWrite, Filters, Hit, NewChunk, SearchMode, StoredDocument, TxHook


class DocumentStore(Protocol):
    #: The ingestion jobs, in the local SQLite file (on SQLite: the documents' own connection).
    jobs: JobStore

    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def get_document(self, doc_id: str) -> StoredDocument | None: ...
    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredDocument]: ...
    def list_documents(self, limit: int, offset: int) -> tuple[list[StoredDocument], int]: ...
    def count_documents(self) -> int: ...
    def count_chunks(self) -> int: ...
    def write(
        self, writes: Sequence[DocumentWrite], after: TxHook | None = None
    ) -> tuple[list[int], list[int]]: ...
    def delete_document(self, doc_id: str) -> list[int] | None: ...
    def export_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[NewChunk]]: ...
    def in_transaction(self, hook: TxHook) -> None: ...
    def close(self) -> None: ...


class Searcher(Protocol):
    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held while a write is applied, so readers never see half of it."""
        ...

    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]: ...
    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]: ...
    def apply(
        self, removed: list[int], added: list[int], vectors: npt.NDArray[np.float32]
    ) -> None: ...
    def maybe_save(self) -> None: ...
    def wait_idle(self, timeout: float = 600) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


#: The former name, kept only while answer/answering.py (being split in another branch) still
#: imports it; drop it once that module imports ``Searcher``.
SearchIndex = Searcher
