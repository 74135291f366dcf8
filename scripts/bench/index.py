"""Vector index at scale: exact flat vs IVF on synthetic clustered vectors (100k and 1M).

    python -m scripts.bench.index [--sizes 100000 1000000] [--queries 300] [--nprobe 16]

The vectors are synthetic (384-d, unit length, drawn around 2,000 random centres with noise, so
they cluster like sentence embeddings); queries are drawn the same way. Per size: build time,
search p50/p95 for one query at a time (what a request does), recall@10 of IVF against exact
search, and the process RSS. This is the FAISS part of /search only: the query embedding and
BM25 are measured by scripts/bench/search.py and ask.py.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from scripts.common import rss_mb, summary_ms, table, write_results


def clustered(n: int, dim: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        picks = centres[rng.integers(0, len(centres), m)]
        block = picks + rng.normal(0, 0.045, (m, dim)).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--nprobe", type=int, default=16)
    ap.add_argument("--dim", type=int, default=384)
    args = ap.parse_args()

    from qa_service.storage.vectors import build_index

    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (2000, args.dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    rows, results = [], []
    for size in args.sizes:
        vectors = clustered(size, args.dim, centres, rng)
        ids = np.arange(1, size + 1, dtype=np.int64)
        queries = clustered(args.queries, args.dim, centres, rng)

        def batches(v: np.ndarray = vectors, i: np.ndarray = ids):
            for s in range(0, len(v), 50_000):
                yield i[s : s + 50_000], v[s : s + 50_000]

        entry: dict = {"size": size}
        exact_top: list[set[int]] = []
        for kind in ("flat", "ivf"):
            t0 = time.perf_counter()
            index = build_index(args.dim, "bench", kind, size, batches, nprobe=args.nprobe)
            build_s = time.perf_counter() - t0
            times, tops = [], []
            for q in queries:
                t = time.perf_counter()
                hits = index.search(q, 10)
                times.append(time.perf_counter() - t)
                tops.append({h[0] for h in hits})
            if kind == "flat":
                exact_top = tops
                recall = 1.0
            else:
                recall = float(
                    np.mean([len(a & b) / 10 for a, b in zip(tops, exact_top, strict=True)])
                )
            # deletes stay honoured: remove the exact top hit of the first query
            gone = next(iter(exact_top[0]))
            index.remove([gone])
            assert all(h[0] != gone for h in index.search(queries[0], 10))
            lat = summary_ms(times)
            entry[kind] = {**lat, "build_s": round(build_s, 2), "recall@10": round(recall, 4),
                           "nlist": index.nlist, "rss_mb": round(rss_mb())}  # fmt: skip
            rows.append([f"{size:,}", kind, round(build_s, 1), lat["p50_ms"], lat["p95_ms"],
                         round(recall, 3), index.nlist or "-", round(rss_mb())])  # fmt: skip
            del index
        results.append(entry)
        del vectors
    print(f"\nFAISS on synthetic clustered vectors ({args.dim}-d), nprobe={args.nprobe}\n")
    print(table(["chunks", "index", "build s", "p50 ms", "p95 ms", "recall@10", "nlist",
                 "RSS MB"], rows))  # fmt: skip
    path = write_results("bench_index", {"synthetic": True, "nprobe": args.nprobe,
                                         "results": results})  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
