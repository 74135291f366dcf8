"""Wire copies: one story from several outlets, or twice from one feed, folded together.

* **Exact copies** have the same normalized text (NFKC, case-folded, words only: spacing,
  punctuation and quote styles do not count). URL and feed ingestion stores such a copy once.
* **Near copies** (a dateline added, the last paragraphs cut, a few words edited) are found with
  MinHash signatures of word 3-shingles (datasketch). Banded LSH keys live in SQLite, so a lookup
  reads a few rows instead of comparing against every document, and every process sharing the
  data directory sees the same links. A candidate whose estimated Jaccard similarity reaches
  ``QA_WIRE_THRESHOLD`` joins its cluster. Nothing is dropped: the copies stay documents, and
  search folds a copy's passage into the same passage of a higher-ranked copy (``also_in``).

Why 3-shingles and 0.3 (``scripts/eval/wire.py``, news dev set, bench/results/eval_wire.json):
copies made by the edits outlets make to agency copy (dateline and credits, the last 30% cut, 8%
of words changed, an update appended, captions removed, all at once) keep an exact Jaccard of
0.48 or more; different stories, even paragraphs on one topic or a follow-up repeating three
sentences of background, stay at 0.18 or less. 0.3 sits in that gap, about 3 standard errors of
a 128-permutation estimate from either side: all 180 copies found, 59 of 60 harsher ones (half
cut, 15% of words changed), none of 7,109 different pairs linked. 5-shingles separate less
(edited copies fall to 0.31); lead embeddings do not separate at all (same-topic paragraphs reach
a cosine of 0.79, edited copies start at 0.80). 64 bands of 2 rows make a pair at J = 0.3 a
candidate with probability 0.998.

The tables live in the local SQLite file of either backend (Milvus keeps one for jobs too); the
link step runs inside the transaction that stores the documents.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ..storage.localdb import immediate_tx, select_in
from ..storage.protocols import Searcher
from ..storage.types import Filters, Hit, SearchMode, TxHook

SHINGLE_WORDS = 3
NUM_PERM = 128
BANDS, ROWS = 64, 2
#: Two passages of one cluster are the same passage when this share of the shorter one's
#: shingles occurs in the other (chunk boundaries differ between copies, so not Jaccard).
PASSAGE_OVERLAP = 0.5
#: Changing any of these changes every signature: stored ones are then recomputed.
CONFIG = f"minhash-affine32 perm={NUM_PERM} seed=1 shingle={SHINGLE_WORDS} bands={BANDS}x{ROWS}"

_WORD = re.compile(r"\w+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wire_docs (
    doc_id TEXT PRIMARY KEY,
    text_hash TEXT NOT NULL,
    signature BLOB NOT NULL,
    cluster TEXT NOT NULL,
    linked_to TEXT,
    similarity REAL
);
CREATE INDEX IF NOT EXISTS wire_docs_hash ON wire_docs(text_hash);
CREATE INDEX IF NOT EXISTS wire_docs_cluster ON wire_docs(cluster);
CREATE INDEX IF NOT EXISTS wire_docs_linked ON wire_docs(linked_to) WHERE linked_to IS NOT NULL;
CREATE TABLE IF NOT EXISTS wire_bands (key INTEGER NOT NULL, doc_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS wire_bands_key ON wire_bands(key);
CREATE INDEX IF NOT EXISTS wire_bands_doc ON wire_bands(doc_id);
CREATE TABLE IF NOT EXISTS wire_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def text_hash(text: str) -> str:
    """Equal for texts that differ only in case, spacing, punctuation or Unicode form."""
    return hashlib.sha256(" ".join(words(text)).encode("utf-8")).hexdigest()


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    w = words(text)
    if len(w) < k:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i : i + k]) for i in range(len(w) - k + 1)}


def overlap(a: set[str], b: set[str]) -> float:
    """Share of the smaller set found in the other (1.0: one contains the other)."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


_PERMUTATIONS: Any = None


def signature(text: str) -> npt.NDArray[np.uint32]:
    """MinHash signature of the text's word 3-shingles (the same in every process)."""
    global _PERMUTATIONS
    from datasketch import MinHash

    if _PERMUTATIONS is None:  # drawn once; the seed makes them identical everywhere
        _PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32").permutations
    m = MinHash(num_perm=NUM_PERM, seed=1, scheme="affine32", permutations=_PERMUTATIONS)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return np.asarray(m.hashvalues, dtype=np.uint32)


def similarity(a: npt.NDArray[np.uint32], b: npt.NDArray[np.uint32]) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.mean(a == b))


def band_keys(sig: npt.NDArray[np.uint32]) -> list[int]:
    """One signed 64-bit key per band (band number + its rows), as SQLite stores integers."""
    keys = []
    for band in range(BANDS):
        raw = band.to_bytes(2, "big") + sig[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(raw, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
    return keys


@dataclass(frozen=True, slots=True)
class Fingerprint:
    doc_id: str
    text_hash: str
    signature: npt.NDArray[np.uint32]

    @classmethod
    def of(cls, doc_id: str, text: str) -> Fingerprint:
        return cls(doc_id, text_hash(text), signature(text))


@dataclass(frozen=True, slots=True)
class Link:
    """How a stored document joined a cluster: the closest earlier copy and its similarity."""

    cluster: str
    linked_to: str | None
    similarity: float | None


class WireLinks:
    """Which stored documents are copies of which: their signatures and clusters, in the local
    SQLite file."""

    def __init__(self, db_path: Path, threshold: float) -> None:
        self.threshold = threshold
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._conn.executescript(_SCHEMA)
        row = self._conn.execute("SELECT value FROM wire_meta WHERE key='config'").fetchone()
        if row is None or row[0] != CONFIG:  # new signatures: the backfill recomputes them
            self._conn.executescript("DELETE FROM wire_docs; DELETE FROM wire_bands;")
            self._conn.execute(
                "INSERT OR REPLACE INTO wire_meta(key, value) VALUES ('config', ?)", (CONFIG,)
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- writing (inside the documents' transaction) ------------------------------------------
    def link_hook(self, prints: Sequence[Fingerprint], after: TxHook | None = None) -> TxHook:
        """A hook that files the fingerprints (replacing older ones of the same ids), linking
        each to the closest earlier copy; then runs ``after`` (job progress) if given."""

        def hook(c: sqlite3.Connection) -> None:
            for fp in prints:
                self._file(c, fp)
            if after is not None:
                after(c)

        return hook

    def _file(self, c: sqlite3.Connection, fp: Fingerprint) -> None:
        c.execute("DELETE FROM wire_docs WHERE doc_id = ?", (fp.doc_id,))
        c.execute("DELETE FROM wire_bands WHERE doc_id = ?", (fp.doc_id,))
        keys = band_keys(fp.signature)
        marks = ",".join("?" * len(keys))
        rows = c.execute(
            "SELECT d.doc_id, d.signature, d.cluster FROM wire_docs d WHERE d.doc_id IN"
            f" (SELECT DISTINCT doc_id FROM wire_bands WHERE key IN ({marks}))",
            keys,
        ).fetchall()
        matches = []
        for doc_id, blob, cluster in rows:
            sim = similarity(fp.signature, np.frombuffer(blob, dtype=np.uint32))
            if sim >= self.threshold:
                matches.append((sim, doc_id, cluster))
        matches.sort(reverse=True)
        cluster, linked_to, sim_best = fp.doc_id, None, None
        if matches:
            sim_best, linked_to, cluster = matches[0]
            others = {m[2] for m in matches[1:]} - {cluster}
            for other in others:  # this document bridges two clusters: they become one
                c.execute("UPDATE wire_docs SET cluster = ? WHERE cluster = ?", (cluster, other))
        c.execute(
            "INSERT INTO wire_docs (doc_id, text_hash, signature, cluster, linked_to, similarity)"
            " VALUES (?,?,?,?,?,?)",
            (fp.doc_id, fp.text_hash, fp.signature.tobytes(), cluster, linked_to, sim_best),
        )
        c.executemany(
            "INSERT INTO wire_bands (key, doc_id) VALUES (?, ?)", [(k, fp.doc_id) for k in keys]
        )

    def forget(self, doc_id: str) -> None:
        """Drop a deleted document (its copies keep their cluster among themselves)."""
        with immediate_tx(self._conn, self._lock) as c:
            c.execute("DELETE FROM wire_docs WHERE doc_id = ?", (doc_id,))
            c.execute("DELETE FROM wire_bands WHERE doc_id = ?", (doc_id,))

    # --- reading ------------------------------------------------------------------------------
    def holders(self, hash_: str) -> list[str]:
        """Documents whose normalized text has this hash (exact copies), oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT doc_id FROM wire_docs WHERE text_hash = ? ORDER BY rowid", (hash_,)
            ).fetchall()
        return [r[0] for r in rows]

    def links(self, doc_ids: Sequence[str]) -> dict[str, Link]:
        out: dict[str, Link] = {}
        with self._lock:
            sql = (
                "SELECT doc_id, cluster, linked_to, similarity FROM wire_docs"
                " WHERE doc_id IN ({marks})"
            )
            for rows in select_in(self._conn, sql, doc_ids):
                out.update((r[0], Link(r[1], r[2], r[3])) for r in rows)
        return out

    @staticmethod
    def copies_in(c: sqlite3.Connection, doc_id: str) -> list[str]:
        """The documents of ``doc_id``'s cluster (itself included), read on ``c``: inside the
        transaction that filed it, which sees its new link."""
        rows = c.execute(
            "SELECT doc_id FROM wire_docs WHERE cluster ="
            " (SELECT cluster FROM wire_docs WHERE doc_id = ?)",
            (doc_id,),
        ).fetchall()
        return [r[0] for r in rows]

    def has_links(self) -> bool:
        """Whether any two documents are linked (else search has nothing to fold)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM wire_docs WHERE linked_to IS NOT NULL LIMIT 1"
            ).fetchone()
        return row is not None

    def missing(self, doc_ids: Sequence[str]) -> list[str]:
        """The ids without a fingerprint (documents stored before this index existed)."""
        known = self.links(doc_ids)
        return [d for d in doc_ids if d not in known]


def fold(hits: Sequence[Hit], clusters: dict[str, Link]) -> list[tuple[Hit, list[str]]]:
    """Hits in order, each with the ids of the copies whose same passage was folded into it.

    A hit is folded into an earlier (better-ranked) one when their documents are in one cluster
    and the passages overlap (``PASSAGE_OVERLAP``); a passage only one outlet has stays.
    """
    kept: list[tuple[Hit, list[str], set[str]]] = []
    for hit in hits:
        link = clusters.get(hit.chunk.doc_id)
        if link is not None:
            mine: set[str] | None = None
            for k_hit, also, k_shingles in kept:
                other = clusters.get(k_hit.chunk.doc_id)
                if other is None or other.cluster != link.cluster:
                    continue
                if k_hit.chunk.doc_id == hit.chunk.doc_id:
                    continue
                mine = mine if mine is not None else shingles(hit.chunk.text)
                if overlap(mine, k_shingles) >= PASSAGE_OVERLAP:
                    if hit.chunk.doc_id not in also:
                        also.append(hit.chunk.doc_id)
                    break
            else:
                kept.append((hit, [], mine if mine is not None else shingles(hit.chunk.text)))
            continue
        kept.append((hit, [], set()))
    return [(h, also) for h, also, _ in kept]


class FoldingSearcher:
    """A ``Searcher`` whose results show each passage of a wire story once.

    Wraps the query side of the real index (FAISS or Milvus); the upkeep side stays with
    ingestion. Search asks for more results when there is anything to fold, so ``top_k``
    distinct ones remain.
    """

    def __init__(self, inner: Searcher, wire: WireLinks) -> None:
        self.inner = inner
        self.wire = wire

    def search_folded(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[tuple[Hit, list[str]]]:
        """The hits, each with the ids of the copies whose same passage was folded into it."""
        if not self.wire.has_links():
            hits = self.inner.search(query, query_vector, top_k, filters, mode)
            return [(h, []) for h in hits]
        hits = self.inner.search(query, query_vector, min(3 * top_k, top_k + 100), filters, mode)
        clusters = self.wire.links(sorted({h.chunk.doc_id for h in hits}))
        return fold(hits, clusters)[:top_k]

    def search(
        self,
        query: str,
        query_vector: npt.NDArray[np.float32],
        top_k: int,
        filters: Filters | None = None,
        mode: SearchMode = "hybrid",
    ) -> list[Hit]:
        return [h for h, _ in self.search_folded(query, query_vector, top_k, filters, mode)]

    def idf(self, stems: set[str] | frozenset[str]) -> dict[str, float]:
        return self.inner.idf(stems)
