"""Stories (``QA_STORIES``): what filing an article costs, what it costs ingest, how well it groups.

    python -m scripts.bench.stories [--articles N] [--new N] [--docs N] [--repeats R]
        [--skip scale throughput quality] [--report]

  scale       a StoryBook in a temporary SQLite file (WAL, synchronous=FULL, as the store opens
              it) pre-filled with N synthetic articles (default 100,000): random unit vectors of
              the embedder's size in stories of 1 to 20 articles (P(k) ~ 1/k, so most are small),
              each story starting at a random time of one year, its articles up to 7 days apart,
              4 synthetic names a story, 3 of them plus 2 others per article. Rows are inserted
              directly (the filing step itself would take minutes for 100k). Then ``--new``
              arriving articles (default 500, half of them continuing a recent story), with a
              dev-set text under a line of their story's names, are filed one per transaction
              through ``StoryBook.file_hook``, as ingestion does; and 100 late articles with times
              inside the year (a backfill). Reported: the filing hook's p50/p95 ms, the whole
              transaction's (commit included), and the candidate stories in the time window.
  throughput  the real embedder, ``QAService`` ingesting the same ``--docs`` articles (default
              200: the labelled set below plus SQuAD dev paragraphs, with publication times)
              in batches of 16, with ``Settings(stories=False)`` and ``True`` alternately (off,
              on, on, off, ...), each in a fresh data directory. Reported: chunks/s (the fastest
              run of each), their ratio (target: stories on at most 10% slower) and the time spent
              in the filing hook as a share of ingestion (free of the noise of a shared machine).
  quality     the labelled set of ``scripts/eval/story_set.py`` (30 news stories of 4 articles
              each, 12 same-topic paragraphs as stories of their own), ingested once through the
              real service with the configured settings (one article per request, in publication
              order); then every setting of a small grid files the same articles again, one per
              transaction with wire links first as ingestion does, from the vectors the service
              stored (no re-embedding). Reported: B-cubed precision, recall and F1, stories split
              and merged, and the share of wire copies, updates and follow-ups that joined their
              base, on the calibration half (where settings are chosen) and the test half.

The generator and the reader are not loaded. Results: bench/results/bench_stories.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qa_service.config import Settings
from qa_service.ingest import stories as stories_module
from qa_service.ingest.stories import Filing, StoryBook
from qa_service.ingest.wire import Fingerprint, WireLinks
from qa_service.models.loading import Models, load_models
from qa_service.schemas import DocumentIn, to_utc_iso
from qa_service.service import QAService
from qa_service.storage.localdb import connect, immediate_tx
from qa_service.storage.types import TxHook
from scripts.common import (
    RESULTS,
    SHARED_EVAL,
    cpu_line,
    load_average,
    load_jsonl,
    pct,
    require,
    rss_mb,
    table,
    write_results,
)
from scripts.eval import story_set
from scripts.eval.story_set import Article

DIM = 384  # all-MiniLM-L6-v2
YEAR = datetime(2024, 1, 1, tzinfo=UTC)
BATCH_DOCS = 16
_SYLLABLES = [
    "ka", "lo", "mi", "ren", "dor", "va", "sel", "tu", "bri", "an", "nor", "qui", "zel", "ma",
    "po", "ri", "sha", "ten", "vo", "gal", "be", "cas", "fi", "hol", "jun", "ke", "lum", "ne",
]  # fmt: skip


# --- 1. cost of filing at scale -------------------------------------------------------------------
def synthetic_names(rng: np.random.Generator, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 5)))).capitalize())
    return sorted(out)


def unit(v: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
    return np.asarray(v / np.linalg.norm(v, axis=-1, keepdims=True), dtype=np.float32)


def member(rng: np.random.Generator, center: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """An article of a story: cosine about 0.8 to the story's center."""
    return unit(center + 0.75 * rng.standard_normal(DIM) / np.sqrt(DIM))


class Synthetic:
    """The pre-filled story tables: the stories' centers, names and times, kept to make arrivals."""

    def __init__(self, rng: np.random.Generator, n: int) -> None:
        ks = np.arange(1, 21)
        sizes = rng.choice(ks, size=n, p=(1 / ks) / (1 / ks).sum())
        sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), n)) + 1]
        sizes[-1] -= int(sizes.sum()) - n
        self.sizes = sizes
        self.names = synthetic_names(rng, 20_000)
        self.centers = unit(rng.standard_normal((len(sizes), DIM)))
        self.story_names = rng.integers(0, len(self.names), size=(len(sizes), 4))
        self.starts = rng.uniform(0, 365, size=len(sizes))
        self.last = np.zeros(len(sizes))
        self.rng = rng

    def article_names(self, story: int) -> list[str]:
        own = self.rng.choice(self.story_names[story], size=3, replace=False)
        other = self.rng.integers(0, len(self.names), size=2)
        return [self.names[i].lower() for i in [*own, *other]]

    def fill(self, conn: sqlite3.Connection) -> None:
        docs, stories = [], []
        for s, size in enumerate(self.sizes.tolist()):
            offsets = np.r_[0, np.minimum(self.rng.exponential(0.75, size - 1), 7)]
            days = np.sort(np.minimum(self.starts[s] + offsets, 365))
            self.last[s] = days[-1]
            centroid = np.zeros(DIM, dtype=np.float32)
            counts: Counter[str] = Counter()
            for j, day in enumerate(days.tolist()):
                v, names = member(self.rng, self.centers[s]), self.article_names(s)
                centroid += v
                counts.update(names)
                at = to_utc_iso(YEAR + timedelta(days=day))
                docs.append(
                    (f"syn-{s}-{j}", f"story-{s}", at, f"title {s}", "synthetic", None,
                     v.tobytes(), json.dumps(names), at, None)
                )  # fmt: skip
            first, last = (to_utc_iso(YEAR + timedelta(days=float(d))) for d in days[[0, -1]])
            stories.append(
                (f"story-{s}", f"title {s}", centroid.tobytes(), size, json.dumps(counts), first,
                 last, last)
            )  # fmt: skip
        with immediate_tx(conn, threading.Lock()) as c:
            c.executemany("INSERT INTO story_docs VALUES (?,?,?,?,?,?,?,?,?,?)", docs)
            c.executemany("INSERT INTO stories VALUES (?,?,?,?,?,?,?,?)", stories)


def window_count(conn: sqlite3.Connection, at: datetime, days: float) -> int:
    lo, hi = (to_utc_iso(at + timedelta(days=d)) for d in (-days, days))
    (n,) = conn.execute(
        "SELECT COUNT(*) FROM stories WHERE last_at >= ? AND first_at <= ?", (lo, hi)
    ).fetchone()
    return int(n)


def time_filings(
    book: StoryBook,
    conn: sqlite3.Connection,
    syn: Synthetic,
    texts: list[str],
    times: Sequence[float],
    tag: str,
) -> dict[str, Any]:
    """File one arrival per transaction at each time (days since the start of the year)."""
    lock = threading.Lock()
    hook_s, tx_s, candidates, joined, continued = [], [], [], 0, 0
    for i, day in enumerate(times):
        at = YEAR + timedelta(days=day)
        recent = np.flatnonzero((syn.last <= day) & (syn.last >= day - 2))
        if i % 2 == 0 and len(recent):  # continues a recent story
            story = int(syn.rng.choice(recent))
            vector, names = member(syn.rng, syn.centers[story]), syn.story_names[story][:3]
            continued += 1
        else:
            story = -1
            vector = unit(syn.rng.standard_normal(DIM))
            names = syn.rng.integers(0, len(syn.names), size=3)
        a, b, c = (syn.names[k] for k in names)
        text = f"{a} and {b} met {c} in the capital.\n{texts[i % len(texts)]}"
        doc_id = f"new-{tag}-{i}"
        filing = Filing(doc_id, to_utc_iso(at), f"{a} {b} talks", text, vector, "synthetic")
        hook = book.file_hook([filing], WireLinks.copies_in)
        candidates.append(window_count(conn, at, book.window_days))
        t0 = time.perf_counter()
        with immediate_tx(conn, lock) as tx:
            t1 = time.perf_counter()
            hook(tx)
            hook_s.append(time.perf_counter() - t1)
        tx_s.append(time.perf_counter() - t0)
        (found,) = conn.execute(
            "SELECT story_id FROM story_docs WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        joined += story >= 0 and found == f"story-{story}"
    ms = [1000 * s for s in hook_s]
    return {
        "articles": len(times),
        "filing_p50_ms": round(pct(ms, 0.5), 2),
        "filing_p95_ms": round(pct(ms, 0.95), 2),
        "filing_mean_ms": round(float(np.mean(ms)), 2),
        "transaction_p50_ms": round(pct([1000 * s for s in tx_s], 0.5), 2),
        "transaction_p95_ms": round(pct([1000 * s for s in tx_s], 0.95), 2),
        "candidates_p50": int(pct([float(c) for c in candidates], 0.5)),
        "candidates_max": max(candidates),
        "continuations_joined": f"{joined}/{continued}",
    }


def scale(n: int, new: int, texts: list[str], window_days: float) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory(prefix="qa-bench-stories-") as tmp:
        path = Path(tmp) / "qa.sqlite3"
        conn = connect(path)
        WireLinks(path, 0.3).close()  # the tables copies_in reads (empty: no copies)
        book = StoryBook(path, window_days=window_days, similarity=0.6, name_similarity=0.45)
        syn = Synthetic(rng, n)
        t0 = time.perf_counter()
        syn.fill(conn)
        fill_s = time.perf_counter() - t0
        print(f"{n:,} synthetic articles in {len(syn.sizes):,} stories filled in {fill_s:.1f}s")
        time_filings(book, conn, syn, texts, [365.0] * 10, "warm")  # caches (not reported)
        arrivals = [365 + i * 10 / (24 * 60) for i in range(new)]  # one every 10 minutes
        now = time_filings(book, conn, syn, texts, arrivals, "now")
        backfill = time_filings(
            book, conn, syn, texts, sorted(rng.uniform(30, 330, size=100).tolist()), "old"
        )
        size_mb = path.stat().st_size / 1e6
        book.close()
        conn.close()
    return {
        "stored_articles": n,
        "stored_stories": len(syn.sizes),
        "window_days": window_days,
        "fill_s": round(fill_s, 1),
        "db_mb": round(size_mb, 1),
        "new": now,
        "backfill": backfill,
    }


# --- 2. ingest throughput, stories on and off ---------------------------------------------------
def throughput_docs(articles: Sequence[Article], n: int) -> list[DocumentIn]:
    taken = {a.id for a in articles}
    paragraphs = [
        r
        for r in load_jsonl(require(SHARED_EVAL / "squad_v2_dev.jsonl"))
        if r.get("type", "document") == "document" and r["id"] not in taken
    ]
    rng = random.Random(5)
    extra = [
        Article(
            r["id"], r["id"], "other", "-", story_set.first_words(r["text"]), r["text"],
            story_set.START + timedelta(days=rng.uniform(0, story_set.SPAN_DAYS)), "encyclopedia",
        )
        for r in rng.sample(paragraphs, max(0, n - len(articles)))
    ]  # fmt: skip
    chosen = sorted([*articles, *extra][:n], key=lambda a: a.published_at)
    return [
        DocumentIn(
            id=a.id, title=a.title, text=a.text, published_at=a.published_at, source=a.source
        )
        for a in chosen
    ]


def timed_hooks(book: StoryBook, spent: list[float]) -> None:
    """Count the seconds the filing step takes inside ingestion's transactions."""
    inner = book.file_hook

    def file_hook(
        articles: Sequence[Filing],
        copies_of: Callable[[sqlite3.Connection, str], list[str]],
        after: TxHook | None = None,
    ) -> TxHook:
        filed = inner(articles, copies_of)

        def hook(c: sqlite3.Connection) -> None:
            t0 = time.perf_counter()
            filed(c)
            spent[0] += time.perf_counter() - t0
            if after is not None:
                after(c)

        return hook

    book.file_hook = file_hook  # type: ignore[method-assign]


def ingest_run(models: Models, docs: list[DocumentIn], stories: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qa-bench-stories-") as tmp:
        settings = Settings(data_dir=Path(tmp), generator="none", reader="none", stories=stories)
        service = QAService(settings, models)
        spent = [0.0]
        if service.stories is not None:
            timed_hooks(service.stories, spent)
        try:
            chunks = 0
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(0, len(docs), BATCH_DOCS):
                chunks += sum(r.chunks for r in service.ingest(docs[i : i + BATCH_DOCS]))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            n_stories = service.stories.stories(limit=1)[1] if service.stories else 0
        finally:
            service.close()
    return {
        "stories": stories,
        "chunks": chunks,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "filing_s": round(spent[0], 4),
        "stories_made": n_stories,
    }


def throughput(models: Models, docs: list[DocumentIn], repeats: int) -> dict[str, Any]:
    order = [False, True, True, False] * ((repeats + 1) // 2)
    runs = []
    for stories in order[: 2 * repeats]:
        run = ingest_run(models, docs, stories)
        runs.append(run)
        print(
            f"stories {'on ' if stories else 'off'}: {run['chunks']} chunks in {run['wall_s']:.1f}s"
            f" (CPU {run['cpu_s']:.1f}s), filing {run['filing_s']:.3f}s",
            flush=True,
        )

    def best(on: bool, key: str) -> float:
        return min(float(r[key]) for r in runs if r["stories"] == on)

    chunks = runs[0]["chunks"]
    on_cps, off_cps = chunks / best(True, "wall_s"), chunks / best(False, "wall_s")
    on_runs = [r for r in runs if r["stories"]]
    share = sum(r["filing_s"] for r in on_runs) / sum(r["wall_s"] for r in on_runs)
    return {
        "documents": len(docs),
        "chunks": chunks,
        "batch_docs": BATCH_DOCS,
        "off_chunks_per_s": round(off_cps, 2),
        "on_chunks_per_s": round(on_cps, 2),
        "ratio_on_off": round(on_cps / off_cps, 4),
        "ratio_on_off_cpu": round(best(False, "cpu_s") / best(True, "cpu_s"), 4),
        "filing_share": round(share, 4),
        "filing_ms_per_article": round(
            1000 * sum(r["filing_s"] for r in on_runs) / (len(on_runs) * len(docs)), 2
        ),
        "target_ratio": 0.9,
        "meets_target": on_cps / off_cps >= 0.9,
        "estimator": f"fastest of {repeats} runs each, order off/on/on/off",
        "runs": runs,
    }


# --- 3. clustering quality ------------------------------------------------------------------------
SIMILARITIES = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
NAME_SIMILARITIES = (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
WINDOWS = (1.0, 2.0, 5.0, 7.0, 14.0)


def embed_once(
    models: Models, articles: Sequence[Article], settings: Settings, tmp: Path
) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, str]]:
    """Ingest through the real service (one article per request, in order): the vectors it
    stored for each article and the stories it made with the configured settings."""
    service = QAService(settings.model_copy(update={"data_dir": tmp}), models)
    try:
        for a in articles:
            service.ingest(
                [DocumentIn(id=a.id, title=a.title, text=a.text, published_at=a.published_at,
                            source=a.source)]
            )  # fmt: skip
    finally:
        service.close()
    conn = sqlite3.connect(settings.model_copy(update={"data_dir": tmp}).db_path)
    rows = conn.execute("SELECT doc_id, story_id, vector, at FROM story_docs").fetchall()
    conn.close()
    at = {a.id: a.at for a in articles}
    assert all(at[r[0]] == r[3] for r in rows), "the service filed articles at other times"
    vectors = {r[0]: np.frombuffer(r[2], dtype=np.float32) for r in rows}
    return vectors, {r[0]: r[1] for r in rows}


def partition(found: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for doc, story in found.items():
        groups.setdefault(story, set()).add(doc)
    return {frozenset(g) for g in groups.values()}


def quality(models: Models, articles: list[Article], settings: Settings) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="qa-bench-stories-") as tmp:
        t0 = time.perf_counter()
        vectors, service_found = embed_once(models, articles, settings, Path(tmp) / "service")
        print(f"labelled set ingested through the service in {time.perf_counter() - t0:.1f}s")
        prints = {a.id: Fingerprint.of(a.id, a.text) for a in articles}
        runs = 0

        def run(sim: float, name: float, window: float) -> dict[str, Any]:
            nonlocal runs
            runs += 1
            found = story_set.file_all(
                articles, vectors, prints, Path(tmp) / f"grid-{runs}.sqlite3",
                window_days=window, similarity=sim, name_similarity=name,
                wire_threshold=settings.wire_threshold,
            )  # fmt: skip
            row: dict[str, Any] = {"similarity": sim, "name_similarity": name, "window": window}
            for half in ("calibration", "test", None):
                row[half or "all"] = asdict(story_set.score(articles, found, half))
            row["found"] = found
            return row

        t0 = time.perf_counter()
        default = run(
            settings.story_similarity, settings.story_name_similarity, settings.story_window_days
        )
        reproduced = partition(default.pop("found")) == partition(service_found)
        grid = [
            run(s, n, settings.story_window_days)
            for s in SIMILARITIES
            for n in NAME_SIMILARITIES
            if n <= s
        ]

        def key(r: dict[str, Any]) -> tuple[float, float]:
            return r["calibration"]["f1"], r["calibration"]["precision"]

        best = max(grid, key=key)
        pairs = {(r["similarity"], r["name_similarity"]) for r in (default, best)}
        windows = [
            run(sim, name, w)
            for sim, name in sorted(pairs)
            for w in WINDOWS
            if w != settings.story_window_days
        ]
        grid_s = time.perf_counter() - t0
        for r in grid + windows:
            r.pop("found")
        top = max(key(r) for r in grid + windows)
        tied = [r for r in grid + windows if key(r) == top]
    return {
        "articles": len(articles),
        "kinds": dict(Counter(a.kind for a in articles)),
        "gold_stories": len({a.story for a in articles}),
        "service": {
            "similarity": settings.story_similarity,
            "name_similarity": settings.story_name_similarity,
            "window": settings.story_window_days,
            **{
                half or "all": asdict(story_set.score(articles, service_found, half))
                for half in ("calibration", "test", None)
            },
        },
        "grid_reproduces_service": reproduced,
        "cosines": story_set.cosines(articles, vectors),
        "configured": default,
        "best_on_calibration": tied,
        "grid": grid,
        "windows": windows,
        "grid_s": round(grid_s, 1),
    }


# --- the report -----------------------------------------------------------------------------------
def quality_row(r: dict[str, Any]) -> list[Any]:
    c, t, a = r["calibration"], r["test"], r["all"]
    joined = a["joined"]
    return [
        r["similarity"], r["name_similarity"], r["window"],
        f"{c['precision']:.3f} / {c['recall']:.3f} / {c['f1']:.3f}",
        f"{t['precision']:.3f} / {t['recall']:.3f} / {t['f1']:.3f}",
        f"{a['split']} / {a['merged']}",
        f"{joined['wire']:.2f} / {joined['update']:.2f} / {joined['follow-up']:.2f}",
    ]  # fmt: skip


QUALITY_HEADERS = [
    "similarity", "name sim.", "window d", "calibration P / R / F1", "test P / R / F1",
    "split / merged", "joined: wire / update / follow-up",
]  # fmt: skip


def report(out: dict[str, Any]) -> None:
    if "scale" in out:
        s = out["scale"]
        print(
            f"\nfiling cost, {s['stored_articles']:,} stored articles in {s['stored_stories']:,}"
            f" stories (synthetic), window {s['window_days']} days; {cpu_line()}"
        )
        rows = [
            [name, r["articles"], f"{r['filing_p50_ms']} / {r['filing_p95_ms']}",
             f"{r['transaction_p50_ms']} / {r['transaction_p95_ms']}",
             f"{r['candidates_p50']} (max {r['candidates_max']})"]
            for name, r in (("new articles (latest times)", s["new"]),
                            ("backfill (times inside the year)", s["backfill"]))
        ]  # fmt: skip
        print(
            table(
                [
                    "arrivals",
                    "n",
                    "filing p50 / p95 ms",
                    "transaction p50 / p95 ms",
                    "candidate stories p50",
                ],
                rows,
            )
        )
    if "throughput" in out:
        t = out["throughput"]
        print(f"\ningest, {t['documents']} articles ({t['chunks']} chunks), batches of 16")
        print(
            table(
                [
                    "stories off chunks/s",
                    "stories on chunks/s",
                    "ratio on/off (target >= 0.9)",
                    "ratio, CPU time",
                    "filing share of ingest",
                    "filing ms/article",
                ],
                [
                    [
                        t["off_chunks_per_s"],
                        t["on_chunks_per_s"],
                        f"{t['ratio_on_off']:.3f}",
                        f"{t['ratio_on_off_cpu']:.3f}",
                        f"{t['filing_share']:.2%}",
                        t["filing_ms_per_article"],
                    ]
                ],
            )
        )
    if "quality" in out:
        q = out["quality"]
        print(
            f"\nclustering, {q['articles']} articles in {q['gold_stories']} stories ({q['kinds']});"
            f" grid re-filing reproduces the service: {q['grid_reproduces_service']}"
        )
        print(
            table(
                ["article vectors' cosine", "pairs", "min", "median", "max"],
                [[k, v["n"], v["min"], v["median"], v["max"]] for k, v in q["cosines"].items()],
            )
        )
        cells = {(r["similarity"], r["name_similarity"]): r for r in q["grid"]}
        names = sorted({n for _, n in cells})
        print(
            f"\nB-cubed F1, calibration / test half (split, merged stories of all), window"
            f" {q['configured']['window']} days; rows: similarity, columns: name similarity"
        )
        print(
            table(
                ["sim. \\ name sim.", *map(str, names)],
                [
                    [sim] + [
                        f"{c['calibration']['f1']:.3f} / {c['test']['f1']:.3f}"
                        f" ({c['all']['split']}, {c['all']['merged']})"
                        if (c := cells.get((sim, n))) else None
                        for n in names
                    ]
                    for sim in sorted({s for s, _ in cells})
                ],
            )
        )  # fmt: skip
        print("\nwindows, for the configured settings and the first best of the grid")
        print(table(QUALITY_HEADERS, [quality_row(r) for r in q["windows"]]))
        print("\nthe configured settings, and every setting tied best on calibration F1 (then P)")
        chosen = [q["configured"], *q["best_on_calibration"]]
        print(table(QUALITY_HEADERS, [quality_row(r) for r in chosen]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--articles", type=int, default=100_000, help="stored synthetic articles")
    ap.add_argument("--new", type=int, default=500, help="arrivals timed at scale")
    ap.add_argument("--docs", type=int, default=200, help="articles ingested per throughput run")
    ap.add_argument("--repeats", type=int, default=2, help="throughput runs per setting")
    ap.add_argument("--skip", nargs="*", default=[], choices=["scale", "throughput", "quality"])
    ap.add_argument("--report", action="store_true", help="only print the tables of the last run")
    args = ap.parse_args()
    if args.report:
        report(json.loads((RESULTS / "bench_stories.json").read_text()))
        return
    load_start = load_average(warn=True)
    print(cpu_line(), flush=True)
    settings = Settings(generator="none", reader="none")
    articles = story_set.build()
    texts = [a.text for a in articles if a.kind in ("base", "same-topic")]
    out: dict[str, Any] = {}
    if "scale" not in args.skip:
        out["scale"] = scale(args.articles, args.new, texts, settings.story_window_days)
        report({"scale": out["scale"]})
    if {"throughput", "quality"} - set(args.skip):
        t0 = time.perf_counter()
        models = load_models(settings)
        models.embedder.embed([a.text[:500] for a in articles[:32]])  # warm-up (not timed)
        print(f"\nembedder loaded in {time.perf_counter() - t0:.1f}s", flush=True)
        if "throughput" not in args.skip:
            docs = throughput_docs(articles, args.docs)
            out["throughput"] = throughput(models, docs, args.repeats)
            report({"throughput": out["throughput"]})
        if "quality" not in args.skip:
            out["quality"] = quality(models, articles, settings)
    report({"quality": out["quality"]} if "quality" in out else {})
    code = Path(stories_module.__file__).read_bytes()
    out["story_code_sha256"] = hashlib.sha256(code).hexdigest()[:16]  # the code measured
    out |= {"rss_mb": round(rss_mb(), 1), "load_avg": f"{load_start} -> {load_average()}"}
    path = write_results("bench_stories", out)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
