"""The seams between the service and where data lives, so backends can be swapped.

* ``DocumentStore``: documents, their chunks and vectors, metadata, and a ``jobs.JobStore``
  (``sqlite.SQLiteStore``; ``milvus.store.MilvusStore``).
* ``Searcher``: the query side of the search index, all that answering needs.
* ``IndexUpkeep``: the write side, all that ingestion needs: apply a committed write, save,
  report, close.
* ``SearchIndex``: both, as a backend provides them (``local.LocalSearcher``: FAISS + BM25
  derived from SQLite; ``milvus.search.MilvusSearcher``: Milvus dense + BM25 full-text search).
  ``storage.factory.open_search`` opens one.

Every backend error is a ``qa_service.errors.StorageError`` (HTTP 503), raised with the cause
chained; no method raises anything else on bad data in the store.
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
    """The documents of record: what ingestion writes and every answer's quote is checked
    against. A write that returned is durable; a failed one changes nothing."""

    #: The ingestion jobs, in the local SQLite file (on SQLite: the documents' own connection).
    jobs: JobStore

    def get_meta(self, key: str) -> str | None:
        """The stored value of a setting (``index_config``, schema versions), None if unset."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any earlier one."""
        ...

    def get_document(self, doc_id: str) -> StoredDocument | None:
        """The document with this id, None when there is none."""
        ...

    def get_documents(self, doc_ids: Sequence[str]) -> dict[str, StoredDocument]:
        """The documents of those ids that exist, by id (missing ids are simply absent)."""
        ...

    def list_documents(self, limit: int, offset: int) -> tuple[list[StoredDocument], int]:
        """One page of documents in a stable order (oldest first), and the total count."""
        ...

    def count_documents(self) -> int:
        """How many documents are stored."""
        ...

    def count_chunks(self) -> int:
        """How many chunks are stored (0: nothing to search yet)."""
        ...

    def write(
        self, writes: Sequence[DocumentWrite], after: TxHook | None = None
    ) -> tuple[list[int], list[int]]:
        """Write every document in one transaction, all or nothing.

        A write with ``chunks=None`` changes only the document's fields and keeps its chunks;
        otherwise its old chunks are replaced. ``after`` runs inside the same transaction (the
        wire links, a job's progress), so it commits or rolls back with the documents.

        Returns:
            The ids of the chunks removed and of those added, for ``IndexUpkeep.apply``.
        """
        ...

    def delete_document(self, doc_id: str) -> list[int] | None:
        """Delete a document and its chunks; returns the removed chunk ids, None if absent."""
        ...

    def export_chunks(self, doc_ids: Sequence[str]) -> dict[str, list[NewChunk]]:
        """The stored chunks (offsets and vectors) of those documents, by id, for
        ``qa-service migrate``: they are copied to another backend without re-embedding."""
        ...

    def in_transaction(self, hook: TxHook) -> None:
        """Run ``hook`` in a write transaction of the local SQLite file (jobs, wire links)."""
        ...

    def close(self) -> None:
        """Release the connection; the store must not be used afterwards."""
        ...


class Searcher(Protocol):
    """Hybrid search over the stored chunks: what answering and ``/search`` use.

    Thread-safe; a search never sees half of a write (it waits for ``IndexUpkeep.lock``).
    """

    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        """The ``top_k`` best chunks for the query, best first.

        Args:
            query: the text for keyword (BM25) search.
            query_vector: the query's normalised embedding, for dense search (ignored, and may
                be zeros, when ``mode`` is ``"keyword"``).
            top_k: how many hits at most.
            filters: restrict to these documents, sources or publication dates.
            mode: ``"hybrid"`` (dense and keyword fused by reciprocal rank), ``"dense"`` or
                ``"keyword"``.

        Returns:
            Hits with the fused score and, where each side found the chunk, its dense and
            keyword scores. Empty when nothing matches (or nothing is stored).
        """
        ...

    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]:
        """The keyword index's inverse document frequency of each stem (``text.grounding``
        stems); a stem no chunk contains gets the highest weight."""
        ...


class IndexUpkeep(Protocol):
    """Keeping the search index in step with the document store: what ingestion uses."""

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Held while a write is committed and applied, so searches never see half of it."""
        ...

    def apply(self, removed: list[int], added: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Make a committed ``DocumentStore.write`` searchable: drop the ``removed`` chunk ids,
        add the ``added`` ones with their ``vectors`` (one row each, in order)."""
        ...

    def maybe_save(self) -> None:
        """Persist the index if it is due (local: at most every ``QA_INDEX_SAVE_INTERVAL_S``);
        the store is the record, so an index lost in a crash is rebuilt from it."""
        ...

    def wait_idle(self, timeout: float = 600) -> None:
        """Wait until background rebuilds (BM25, a new FAISS kind) have finished, for tests and
        benchmarks; returns after ``timeout`` seconds even if they have not."""
        ...

    def status(self) -> dict[str, Any]:
        """What ``/health`` shows of the index: its kind and how many chunks each side holds."""
        ...

    def close(self) -> None:
        """Save what is due and stop background work; the index must not be used afterwards."""
        ...


class SearchIndex(Searcher, IndexUpkeep, Protocol):
    """A search backend: both sides, as ``storage.factory.open_search`` returns it."""
