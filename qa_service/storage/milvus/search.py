"""Hybrid search on Milvus: dense (IP) and BM25 full-text search, fused by reciprocal rank."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from ...errors import StorageError
from ..fusion import bm25_idf, make_hits, rrf_fuse
from ..types import ChunkRow, Filters, Hit, SearchMode
from .store import _CHUNK_FIELDS, MilvusStore, _q, filter_expr

log = logging.getLogger(__name__)


class MilvusSearcher:
    """Searcher on Milvus: dense (IP) and BM25 full-text search, fused by reciprocal rank."""

    def __init__(self, store: MilvusStore, *, rrf_k: int = 60) -> None:
        self.store = store
        self.client = store.client
        self.lock = threading.RLock()
        self._rrf_k = rrf_k

    def _run(
        self, data: Any, field: str, metric: str, limit: int, expr: str
    ) -> list[dict[str, Any]]:
        try:
            res = self.client.search(
                self.store.chunks,
                data=[data],
                anns_field=field,
                limit=limit,
                filter=expr,
                output_fields=_CHUNK_FIELDS,
                search_params={"metric_type": metric},
            )
        except Exception as e:
            if metric == "BM25":  # e.g. a query of stopwords only
                log.debug("BM25 search failed: %s", e)
                return []
            raise StorageError(f"Milvus search failed: {e}") from e
        return list(res[0]) if res else []

    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        depth = min(max(top_k * 4, 40), 16384)
        expr = filter_expr(filters)
        dense_rows = (
            self._run(query_vector.tolist(), "vector", "IP", depth, expr)
            if mode != "keyword"
            else []
        )
        keyword_rows = self._run(query, "sparse", "BM25", depth, expr) if mode != "dense" else []
        entities = {r["id"]: r["entity"] for r in [*dense_rows, *keyword_rows]}
        current = self.store._doc_rows(sorted({e["doc_id"] for e in entities.values()}))
        rows = {
            cid: ChunkRow(
                id=cid, doc_id=e["doc_id"], ord=e["ord"], start=e["start"], end=e["end"],
                text=e["text"], title=e["title"] or None, url=e["url"] or None,
                published_at=e["published_at"] or None, source=e["source"] or None,
            )
            for cid, e in entities.items()
            if e["doc_id"] in current and current[e["doc_id"]]["index_hash"] == e["index_hash"]
        }  # fmt: skip
        dense = [(r["id"], float(r["distance"])) for r in dense_rows if r["id"] in rows]
        keyword = [(r["id"], abs(float(r["distance"]))) for r in keyword_rows if r["id"] in rows]
        fused = rrf_fuse([dense, keyword], self._rrf_k)
        return make_hits(fused, rows, dense, keyword, mode, self._rrf_k)[:top_k]

    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]:
        """BM25 IDF from Milvus' own counts of chunks that match each (stemmed) term."""
        n = max(1, self.store.count_chunks())
        out = {}
        for t in stems:
            rows = self.client.query(
                self.store.chunks,
                filter=f"TEXT_MATCH(bm25_text, {_q(t)})",
                output_fields=["count(*)"],
            )
            df = int(rows[0]["count(*)"]) if rows else 0
            out[t] = bm25_idf(n, df)
        return out

    def apply(self, removed: list[int], added: list[int], vectors: npt.NDArray[np.float32]) -> None:
        """Nothing to do: the store wrote to Milvus, which indexes as it goes."""

    def maybe_save(self) -> None:
        """Milvus persists by itself."""

    def wait_idle(self, timeout: float = 600) -> None:
        """No background work."""

    def status(self) -> dict[str, Any]:
        n = self.store.count_chunks()
        return {
            "kind": "milvus",
            "vectors": n,
            "keyword_chunks": n,
            "uri": _safe_uri(self.store.uri),
        }

    def close(self) -> None:
        """The store closes the client."""


def _safe_uri(uri: str) -> str:
    """The URI without credentials, for status output."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri
