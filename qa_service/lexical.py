"""BM25 keyword index over chunks (the ``bm25s`` package), the lexical half of hybrid search.

bm25s builds a sparse score matrix and cannot add or delete single documents, so the index is
rebuilt lazily: writes only mark it stale, and the next search rebuilds it once. Deleted chunks
are filtered out through the weight mask until then, so a delete takes effect immediately.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

log = logging.getLogger(__name__)


class LexicalIndex:
    """BM25 over chunk texts, keyed by chunk id. Not thread-safe: the service serialises it."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._retriever: bm25s.BM25 | None = None
        self._ids: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._df: dict[str, int] = {}
        self.stale = True

    def _tokenize(self, texts: list[str]) -> bm25s.tokenization.Tokenized:
        return bm25s.tokenize(
            texts, stopwords="en", stemmer=self._stemmer, show_progress=False, allow_empty=True
        )

    def rebuild(self, items: Iterable[tuple[int, str]]) -> None:
        pairs = list(items)
        self._ids = np.array([p[0] for p in pairs], dtype=np.int64)
        if pairs:
            retriever = bm25s.BM25()
            retriever.index(self._tokenize([p[1] for p in pairs]), show_progress=False)
            self._retriever = retriever
            counts = np.diff(retriever.scores["indptr"])
            self._df = {
                term: int(counts[i]) for term, i in retriever.vocab_dict.items() if i < len(counts)
            }
        else:
            self._retriever = None
            self._df = {}
        self.stale = False
        log.debug("BM25 index rebuilt over %d chunks", len(pairs))

    def idf(self, stems: Iterable[str]) -> dict[str, float]:
        """BM25 inverse document frequency of stemmed terms over all chunks (unseen = rarest)."""
        n = len(self._ids)
        return {
            t: math.log(1 + (n - self._df.get(t, 0) + 0.5) / (self._df.get(t, 0) + 0.5))
            for t in stems
        }

    def search(
        self, query: str, k: int, allowed: npt.NDArray[np.int64] | None = None
    ) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score, restricted to ``allowed``."""
        if self._retriever is None or k <= 0:
            return []
        tokens = self._tokenize([query])
        if not tokens.ids or not tokens.ids[0]:
            return []  # only stopwords or words the corpus never uses
        mask: npt.NDArray[np.float32] | None = None
        candidates = len(self._ids)
        if allowed is not None:
            keep = np.isin(self._ids, allowed)
            candidates = int(keep.sum())
            mask = keep.astype(np.float32)
        k = min(k, candidates)
        if k <= 0:
            return []
        docs, scores = self._retriever.retrieve(
            tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (int(self._ids[d]), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]
