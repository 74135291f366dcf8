"""BM25 keyword index over chunks (the ``bm25s`` package), the lexical half of hybrid search.

bm25s builds an immutable sparse score matrix, so the index has two parts: a *main* index over a
snapshot of the chunks, and a small *delta* index over chunks added since, rebuilt on the next
search after a write (milliseconds). Chunks deleted since the snapshot are masked out of the main
index at query time, so deletes take effect at once. When the delta grows past a tenth of the
main index, the owner rebuilds the main index in the background and swaps it in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import bm25s
import numpy as np
import numpy.typing as npt
import Stemmer

from ..text.variants import squash_acronyms
from .fusion import bm25_idf

log = logging.getLogger(__name__)

Ids = npt.NDArray[np.int64]


def _tokenize(texts: list[str], stemmer: Stemmer.Stemmer) -> bm25s.tokenization.Tokenized:
    # "U.N." and "UN" are one term (bm25s would drop the dotted form's one-letter pieces)
    return bm25s.tokenize(
        [squash_acronyms(t) for t in texts],
        stopwords="en",
        stemmer=stemmer,
        show_progress=False,
        allow_empty=True,
    )


def _terms(texts: list[str], stemmer: Stemmer.Stemmer) -> list[list[str]]:
    """Each text's stemmed terms, as ``_tokenize`` finds them (kept per chunk for the delta)."""
    tokens = _tokenize(texts, stemmer)
    vocab = {i: t for t, i in tokens.vocab.items()}
    return [[vocab[i] for i in ids] for ids in tokens.ids]


@dataclass
class Bm25Part:
    """One immutable BM25 index over some chunks."""

    ids: Ids
    retriever: bm25s.BM25 | None
    df: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, items: Iterable[tuple[int, str]], stemmer: Stemmer.Stemmer) -> Bm25Part:
        pairs = list(items)
        return cls.of_terms([p[0] for p in pairs], _tokenize([p[1] for p in pairs], stemmer))

    @classmethod
    def of_terms(
        cls, chunk_ids: list[int], terms: bm25s.tokenization.Tokenized | list[list[str]]
    ) -> Bm25Part:
        """The index over chunks already split into terms (``_tokenize``, or ``_terms`` kept per
        chunk): the same scores either way."""
        ids = np.array(chunk_ids, dtype=np.int64)
        if not chunk_ids:
            return cls(ids, None)
        retriever = bm25s.BM25()
        retriever.index(terms, show_progress=False)
        counts = np.diff(retriever.scores["indptr"])
        df = {t: int(counts[i]) for t, i in retriever.vocab_dict.items() if i < len(counts)}
        return cls(ids, retriever, df)

    def search(
        self,
        tokens: bm25s.tokenization.Tokenized,
        k: int,
        removed: set[int],
        allowed: Ids | None,
    ) -> list[tuple[int, float]]:
        if self.retriever is None or not len(self.ids):
            return []
        mask = None
        keep = np.ones(len(self.ids), dtype=bool)
        if removed:
            keep &= ~np.isin(self.ids, np.fromiter(removed, dtype=np.int64))
        if allowed is not None:
            keep &= np.isin(self.ids, allowed)
        if not keep.all():
            mask = keep.astype(np.float32)
        k = min(k, int(keep.sum()))
        if k <= 0:
            return []
        docs, scores = self.retriever.retrieve(
            tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (int(self.ids[d]), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0
        ]


class LexicalIndex:
    """Main + delta BM25 over chunk texts, keyed by chunk id. The owner serialises access."""

    #: Rebuild the main index once this many chunks changed (or a tenth of it, if more).
    REBUILD_MIN_CHURN = 1000

    def __init__(self) -> None:
        self.stemmer = Stemmer.Stemmer("english")
        self.main = Bm25Part(np.zeros(0, dtype=np.int64), None)
        self.delta = Bm25Part(np.zeros(0, dtype=np.int64), None)
        #: Chunks added since the main snapshot (alive), and main chunks deleted since.
        self.added: set[int] = set()
        self.removed: set[int] = set()
        self.delta_stale = False
        #: The terms of the delta's chunks: a rebuild after a write splits only the new ones
        #: (re-tokenizing the whole delta on every search after a write held the searcher's
        #: lock for tens of milliseconds under concurrent ingestion).
        self._delta_terms: dict[int, list[str]] = {}

    @property
    def size(self) -> int:
        return len(self.main.ids) - len(self.removed) + len(self.added)

    def set_main(self, main: Bm25Part, added: set[int], removed: set[int]) -> None:
        """Install a main index built over a snapshot, with what changed since that snapshot."""
        self.main = main
        self.added = added
        self.removed = removed
        self.delta_stale = True
        log.debug("BM25 main index: %d chunks (+%d -%d)", len(main.ids), len(added), len(removed))

    def note_write(self, removed: Iterable[int], added: Iterable[int]) -> None:
        for cid in removed:
            if cid in self.added:
                self.added.discard(cid)
            else:
                self.removed.add(cid)
        self.added.update(added)
        self.delta_stale = True

    def needs_rebuild(self) -> bool:
        """True when the delta (or the masked part) is large enough to rebuild the main index."""
        churn = len(self.added) + len(self.removed)
        return churn > max(self.REBUILD_MIN_CHURN, len(self.main.ids) // 10)

    def rebuild_delta(self, texts_of: Callable[[list[int]], dict[int, str]]) -> None:
        """Rebuild the delta over the chunks added since the main snapshot; ``texts_of(ids)``
        gives the keyword text of the chunks whose terms are not known yet."""
        ids = sorted(self.added)
        known = {cid: self._delta_terms[cid] for cid in ids if cid in self._delta_terms}
        missing = [cid for cid in ids if cid not in known]
        if missing:
            texts = texts_of(missing)
            fresh = [cid for cid in missing if cid in texts]
            known.update(zip(fresh, _terms([texts[c] for c in fresh], self.stemmer), strict=True))
        self._delta_terms = known
        ids = [cid for cid in ids if cid in known]
        self.delta = Bm25Part.of_terms(ids, [known[cid] for cid in ids])
        self.delta_stale = False

    def idf(self, stems: Iterable[str]) -> dict[str, float]:
        """BM25 inverse document frequency of stemmed terms (an unseen term is the rarest)."""
        n = max(1, self.size)
        out = {}
        for t in stems:
            df = self.main.df.get(t, 0) + self.delta.df.get(t, 0)
            out[t] = bm25_idf(n, df)
        return out

    def search(self, query: str, k: int, allowed: Ids | None = None) -> list[tuple[int, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score, restricted to ``allowed``.

        Main and delta scores are merged as they are: the delta is small, so its IDF differs a
        little, and hybrid search only uses the ranks.
        """
        if k <= 0:
            return []
        tokens = _tokenize([query], self.stemmer)
        if not tokens.ids or not tokens.ids[0]:
            return []  # only stopwords, or words no chunk uses
        hits = self.main.search(tokens, k, self.removed, allowed)
        hits += self.delta.search(tokens, k, set(), allowed)
        hits.sort(key=lambda h: -h[1])
        return hits[:k]
