"""Rank fusion and BM25 weights shared by the local (FAISS + bm25s) and Milvus backends."""

from __future__ import annotations

import math

from .types import ChunkRow, Hit, SearchMode


def bm25_idf(n: int, df: int) -> float:
    """BM25 inverse document frequency of a term found in ``df`` of ``n`` chunks."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def rrf_fuse(rankings: list[list[tuple[int, float]]], k: int) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: each ranking adds 1 / (k + rank) to a chunk's score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (cid, _) in enumerate(ranking):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def make_hits(
    fused: list[tuple[int, float]],
    rows: dict[int, ChunkRow],
    dense: list[tuple[int, float]],
    keyword: list[tuple[int, float]],
    mode: SearchMode,
    k: int,
) -> list[Hit]:
    """Hits for the fused ranking, scores scaled to [0, 1] (1 = first for every retriever);
    chunks missing from ``rows`` (deleted meanwhile) are dropped."""
    dense_scores, keyword_scores = dict(dense), dict(keyword)
    best = (2.0 if mode == "hybrid" else 1.0) / (k + 1)
    return [
        Hit(rows[cid], min(1.0, score / best), dense_scores.get(cid), keyword_scores.get(cid))
        for cid, score in fused
        if cid in rows
    ]
