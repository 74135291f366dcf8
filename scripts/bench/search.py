"""Search latency at 10k and 100k chunks, index build time, index and database size, RSS.

    python -m scripts.bench.search [--sizes 10000 100000] [--queries 200] [--seed 13]

The corpus is SYNTHETIC, written straight into the SQLite store (embedding 100k real chunks
would take over an hour on a laptop CPU): documents of 2-6 overlapping chunks of 110-170 words
drawn from the word stream of the SQuAD/news eval texts (so term frequencies, and thus BM25
posting lists, look like English; a built-in word list when the files are absent), and random
unit vectors (dim of the embedder) drawn around 200 cluster centres, one centre per document,
standing in for the embeddings. The queries are real: SQuAD questions (generated ones when the
file is absent), embedded by the real model. Latency is representative; relevance is not.

Per size it measures:

  serving after  opening QAService on the data with no FAISS file: the vector index (flat, or
                 IVF past QA_ANN_THRESHOLD chunks) built from SQLite and saved, plus the BM25
                 index when the corpus is small enough to build it before serving
  ready          the same until every background rebuild is done (BM25 of a big corpus)
  bm25 build     the BM25 index built once more on its own (Bm25Part.build over the chunks)
  reopen         opening it again, the FAISS file now present (a restart)
  first search   the first hybrid search once everything is ready
  search         service.search(query, top_k=5) per mode (query embedding included), p50/p95
  parts          query embedding alone, FAISS alone (random query vector, k=40 as the service
                 asks; also with one OpenMP thread), BM25 alone (k=40)
  sizes          FAISS file after retriever.save(), SQLite files, process RSS after the searches

Results go to bench/results/bench_search.json.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import re
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from qa_service.config import Settings
from qa_service.models.loading import Models, load_models
from qa_service.service import QAService
from qa_service.storage.bm25 import Bm25Part
from qa_service.storage.local import LocalSearcher
from qa_service.storage.types import DocumentWrite, NewChunk, SearchMode, StoredDocument, now_iso
from scripts.common import (
    SHARED_EVAL,
    load_average,
    load_jsonl,
    rss_mb,
    summary_ms,
    table,
    write_results,
)

SQUAD = SHARED_EVAL / "squad_v2_dev.jsonl"
NEWS = SHARED_EVAL / "news_summaries_dev.jsonl"
CENTRES = 200
#: Per-dimension noise around a centre: cosine to the centre about 0.6 at dim 384.
NOISE = 0.07
OVERLAP_WORDS = 25
WRITE_BATCH_DOCS = 1000
K_SERVICE = 40  # the candidate depth LocalSearcher.search asks each index for at top_k=5

FALLBACK_TEXT = """
the of and to in a is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all we their has would when if so no will
more what can out up into time other its only new some could these two may first then do any
like my now over such our man me even most made after also did many before must through back
years where much your way well down should because each just those people how too little state
good very make world still own see men work long get here between both life being under never
day same another know while last might us great old year off come since against go came right
used take three river city government war church law court system energy water university
market company team season league army school history science power music island population
"""


def corpus_words() -> npt.NDArray[np.object_]:
    """The word stream of the eval texts (frequencies as in English), or a built-in list."""
    texts = [r["text"] for p in (SQUAD, NEWS) if p.exists() for r in load_jsonl(p) if "text" in r]
    words = [w for t in texts for w in re.findall(r"[A-Za-z]+(?:'[a-z]+)?", t)]
    return np.array(words or re.findall(r"\w+", FALLBACK_TEXT), dtype=object)


def queries(n: int, words: npt.NDArray[np.object_], rng: np.random.Generator) -> list[str]:
    """Real SQuAD questions when the file is there, else generated ones."""
    if SQUAD.exists():
        found = [r["question"] for r in load_jsonl(SQUAD) if r.get("type") == "question"]
        if found:
            return [found[i] for i in rng.permutation(len(found))[:n]]
    return [f"What is the {a} of the {b} {c}?" for a, b, c in rng.choice(words, (n, 3))]


def synthetic_document(
    n: int, rng: np.random.Generator, words: npt.NDArray[np.object_], lengths: npt.NDArray[Any]
) -> tuple[str, str, list[tuple[int, int]]]:
    """(title, text, chunk spans) of a document of ``n`` overlapping chunks; spans slice text."""
    sizes = rng.integers(110, 171, size=n)
    first = np.concatenate(([0], np.cumsum(sizes[:-1] - OVERLAP_WORDS)))
    total = int(first[-1] + sizes[-1])
    idx = rng.integers(0, len(words), size=total)
    tokens = words[idx]
    stops = rng.random(total) < 1 / 15
    stops[-1] = True
    tokens[stops] = [w + "." for w in tokens[stops]]
    lens = lengths[idx] + stops
    starts = np.concatenate(([0], np.cumsum(lens[:-1] + 1)))
    ends = starts + lens
    spans = [(int(starts[a]), int(ends[a + s - 1])) for a, s in zip(first, sizes, strict=True)]
    title = " ".join(rng.choice(words, rng.integers(3, 8))).title()
    return title, " ".join(tokens), spans


def write_corpus(
    service: QAService, n_chunks: int, words: npt.NDArray[np.object_], rng: np.random.Generator
) -> int:
    """Write documents until ``n_chunks`` chunks exist; returns the number of documents."""
    dim = service.embedder.dim
    centres = rng.standard_normal((CENTRES, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    lengths = np.array([len(w) for w in words], dtype=np.int64)
    now = now_iso()
    docs = chunks = 0
    while chunks < n_chunks:
        writes: list[DocumentWrite] = []
        while chunks < n_chunks and len(writes) < WRITE_BATCH_DOCS:
            n = min(int(rng.integers(2, 7)), n_chunks - chunks)
            title, text, spans = synthetic_document(n, rng, words, lengths)
            vecs = centres[rng.integers(CENTRES)] + NOISE * rng.standard_normal((n, dim))
            vecs = (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)
            doc = StoredDocument(
                id=f"synthetic-{docs:07d}",
                text=text,
                title=title,
                source="synthetic",
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                index_hash=service.encoder.index_hash(text, title),
                chunk_count=n,
                created_at=now,
                updated_at=now,
            )
            new = [NewChunk(i, s, e, vecs[i]) for i, (s, e) in enumerate(spans)]
            writes.append(DocumentWrite(doc, new))
            docs += 1
            chunks += n
        service.store.write(writes)
    return docs


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def mb(*paths: Path) -> float:
    return round(sum(p.stat().st_size for p in paths if p.exists()) / 2**20, 1)


def measure(
    settings: Settings,
    models: Models,
    qs: list[str],
    modes: list[SearchMode],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Open the service on the written corpus (building the indexes) and time searches."""
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    service = QAService(settings, models)
    out["open_s"] = round(time.perf_counter() - t0, 2)
    retriever = service.index
    assert isinstance(retriever, LocalSearcher), "this benchmark measures the local backend"
    retriever.wait_idle()  # a big corpus gets its BM25 index in the background: let it finish
    out["ready_s"] = round(time.perf_counter() - t0, 2)
    out["chunks"] = retriever.vectors.size
    out["index_kind"] = retriever.vectors.kind
    out["nlist"] = retriever.vectors.nlist
    texts = service.store.chunk_texts
    stemmer = retriever.lexical.stemmer
    out["bm25_build_s"] = round(
        timed(lambda: Bm25Part.build(texts(settings.embed_titles), stemmer)), 2
    )
    out["first_search_ms"] = round(1000 * timed(lambda: service.search(qs[0], 5)), 1)
    print(
        f"  serving after {out['open_s']}s ({out['index_kind']} index), all indexes after "
        f"{out['ready_s']}s; BM25 alone {out['bm25_build_s']}s"
    )

    for q in qs[:10]:  # warm-up
        for mode in modes:
            service.search(q, 5, mode=mode)
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for q in qs:  # modes interleaved, so drift hits them alike
        for mode in modes:
            times[mode].append(timed(partial(service.search, q, 5, mode=mode)))
    qvecs = rng.standard_normal((len(qs), retriever.vectors.dim)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    times["faiss"] = [timed(partial(retriever.vectors.search, v, K_SERVICE)) for v in qvecs]
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # is FAISS's OpenMP worth it for one query at a time?
    try:
        times["faiss_1t"] = [timed(partial(retriever.vectors.search, v, K_SERVICE)) for v in qvecs]
    finally:
        faiss.omp_set_num_threads(threads)
    times["bm25"] = [timed(partial(retriever.lexical.search, q, K_SERVICE)) for q in qs]
    times["embed"] = [timed(partial(models.embedder.embed, [q])) for q in qs]
    out["latency"] = {k: summary_ms(v) for k, v in times.items()}

    retriever.save()
    out["index_mb"] = mb(settings.index_path)
    out["rss_mb"] = round(rss_mb(), 1)
    out["load_avg"] = load_average()
    service.close()
    return out


def bench_size(
    n_chunks: int,
    models: Models,
    words: npt.NDArray[np.object_],
    qs: list[str],
    modes: list[SearchMode],
    rng: np.random.Generator,
) -> dict[str, Any]:
    out: dict[str, Any] = {"target_chunks": n_chunks}
    with tempfile.TemporaryDirectory(prefix="qa-bench-search-") as tmp:
        settings = Settings(data_dir=Path(tmp), generator="none")
        # A first service records the index config (so the data is never re-embedded) and
        # computes index hashes; its empty FAISS file is then deleted, to be built from SQLite.
        seed = QAService(settings, models)
        t0 = time.perf_counter()
        out["documents"] = write_corpus(seed, n_chunks, words, rng)
        out["write_s"] = round(time.perf_counter() - t0, 2)
        seed.close()
        del seed
        index = settings.index_path
        for p in (index, index.with_name(index.name + ".json")):
            p.unlink(missing_ok=True)
        gc.collect()
        print(f"  {n_chunks} chunks written in {out['write_s']}s")

        out |= measure(settings, models, qs, modes, rng)
        gc.collect()
        out["db_mb"] = mb(*settings.data_dir.glob(settings.db_path.name + "*"))

        t0 = time.perf_counter()
        service = QAService(settings, models)
        out["reopen_s"] = round(time.perf_counter() - t0, 2)
        service.close()
        del service
        gc.collect()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--sizes", type=int, nargs="+", default=[10_000, 100_000], help="corpus sizes in chunks"
    )
    ap.add_argument("--queries", type=int, default=200, help="timed queries per mode")
    ap.add_argument(
        "--modes", nargs="+", default=["hybrid", "dense"], choices=["hybrid", "dense", "keyword"]
    )
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()

    load_start = load_average(warn=True)
    rng = np.random.default_rng(args.seed)
    words = corpus_words()
    qs = queries(args.queries, words, rng)
    t0 = time.perf_counter()
    models = load_models(Settings(generator="none"))
    models.embedder.embed(qs[:32])  # warm-up
    base_rss = round(rss_mb(), 1)
    print(f"embedder loaded in {time.perf_counter() - t0:.1f}s, RSS {base_rss} MB")
    print(f"synthetic corpus: {len(words):,} words of text to draw from; {len(qs)} queries")

    results = []
    for size in args.sizes:
        t0 = time.perf_counter()
        results.append(bench_size(size, models, words, qs, args.modes, rng))
        print(f"  size {size} done in {time.perf_counter() - t0:.0f}s")

    print("\nSynthetic corpus (random words, clustered random vectors); real queries and embedder.")
    print(f"Process RSS with the embedder loaded, before any corpus: {base_rss} MB.\n")
    print(
        table(
            [
                "chunks",
                "docs",
                "index",
                "serving after s",
                "ready s",
                "bm25 build s",
                "reopen s",
                "first search ms",
                "index MB",
                "db MB",
                "RSS MB",
                "load avg",
            ],
            [
                [
                    r["chunks"],
                    r["documents"],
                    r["index_kind"] + (f" ({r['nlist']} lists)" if r["nlist"] else ""),
                    r["open_s"],
                    r["ready_s"],
                    r["bm25_build_s"],
                    r["reopen_s"],
                    r["first_search_ms"],
                    r["index_mb"],
                    r["db_mb"],
                    r["rss_mb"],
                    r["load_avg"],
                ]
                for r in results
            ],
        )
    )
    parts = [*args.modes, "faiss", "faiss_1t", "bm25", "embed"]
    print()
    print(
        table(
            ["chunks", *(f"{p} p50/p95 ms" for p in parts)],
            [
                [
                    r["chunks"],
                    *(f"{r['latency'][p]['p50_ms']} / {r['latency'][p]['p95_ms']}" for p in parts),
                ]
                for r in results
            ],
        )
    )
    print(
        "\nsearch modes: service.search(top_k=5), query embedding included; "
        f"faiss: VectorIndex.search(random unit vector, k={K_SERVICE}); "
        "faiss_1t: the same with one OpenMP thread; "
        f"bm25: LexicalIndex.search(k={K_SERVICE}); embed: one query through the embedder."
    )
    path = write_results(
        "bench_search",
        {
            "data": "synthetic",
            "corpus": {
                "text": "random words drawn from the SQuAD/news eval word stream"
                if SQUAD.exists() or NEWS.exists()
                else "random words from a built-in list",
                "vectors": f"random unit vectors around {CENTRES} centres (noise {NOISE}/dim)",
                "chunks_per_doc": "2-6, 110-170 words, 25 words overlap",
                "queries": "SQuAD v2 dev questions" if SQUAD.exists() else "generated",
            },
            "queries": len(qs),
            "top_k": 5,
            "base_rss_mb": base_rss,
            "load_avg_start": load_start,
            "load_avg_end": load_average(),
            "sizes": results,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
