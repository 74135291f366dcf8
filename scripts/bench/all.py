"""`make bench`: run every benchmark, one after another, and print one summary table.

    python -m scripts.bench.all [--skip NAME ...] [--only NAME ...] [--summary-only]
        [--update-readme]

Each figure sits beside its reference measured in the same run (a ratio) or its target. The
machine (cores, CPU), models and versions head the table. Results: bench/results/<name>.json per
benchmark, bench/results/summary.{json,md}; ``--update-readme`` copies the table into README.md
between the bench markers. Needs the evaluation data in ../shared/data/eval (or skips what needs
it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from scripts.common import RESULTS, ROOT, SHARED_EVAL, machine, table

BENCHES = {
    "bench_ingest": ["-m", "scripts.bench.ingest"],
    "bench_embed": ["-m", "scripts.bench.embed"],
    "bench_ingest_onnx": ["-m", "scripts.bench.ingest", "--backend", "onnx"],
    "bench_search": ["-m", "scripts.bench.search"],
    "bench_index": ["-m", "scripts.bench.index"],
    "bench_generate": ["-m", "scripts.bench.generate"],
    "bench_ask": ["-m", "scripts.bench.ask"],
    "bench_summarize": ["-m", "scripts.bench.summarize"],
    "load_test": ["-m", "scripts.bench.load_test", "--seconds", "60"],
    "bench_scale": ["-m", "scripts.bench.scale"],
    "bench_feeds": ["-m", "scripts.bench.feeds"],
    "bench_stories": ["-m", "scripts.bench.stories"],
}
NEEDS_EVAL = {
    "bench_ingest", "bench_ingest_onnx", "bench_embed", "bench_ask", "bench_summarize",
    "bench_feeds", "bench_stories",
}  # fmt: skip


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def g(d: dict[str, Any] | None, *keys: Any, default: Any = None) -> Any:
    for k in keys:
        if not isinstance(d, dict | list):
            return default
        try:
            d = d[k]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return default
    return d


def check(ok: bool | None) -> str:
    return "-" if ok is None else ("yes" if ok else "**no**")


def summary_rows() -> list[list[Any]]:
    rows: list[list[Any]] = []
    for name in ("bench_ingest", "bench_ingest_onnx"):
        ingest = load(name)
        if not ingest:
            continue
        ratio = ingest.get("ratio")
        rows.append(
            [
                f"ingest chunks/s, {ingest.get('backend', 'torch')} (service vs raw encode)",
                ingest.get("service_chunks_per_s"),
                f"raw {ingest.get('raw_chunks_per_s')}",
                ratio,
                ">= 0.85",
                check(ratio is not None and ratio >= 0.85),
            ]
        )
    embed = load("bench_embed")
    for name, r in (g(embed, "backends") or {}).items():
        rows.append(
            [
                f"embed chunks/s: {name}",
                r.get("chunks_per_s"),
                "torch",
                r.get("speedup_vs_torch"),
                "reference" if name == "torch" else ">= 2x, cos >= 0.99, R@5 kept",
                f"{'-' if name == 'torch' else check(r.get('meets_default_rule'))} "
                f"(cos {r.get('cosine_mean')}, R@5 {r.get('recall@5')})",
            ]
        )
    search = load("bench_search")
    for size in g(search, "sizes") or []:
        n = size.get("chunks")
        hybrid = g(size, "latency", "hybrid") or {}
        faiss_ = g(size, "latency", "faiss") or {}
        target = 25 if n and n <= 100_000 else 50
        rows.append(
            [
                f"/search hybrid p50/p95 ms @ {n:,} (synthetic)",
                f"{hybrid.get('p50_ms')}/{hybrid.get('p95_ms')}",
                f"faiss {faiss_.get('p95_ms')}",
                None,
                f"p95 <= {target} (index part)",
                check(faiss_.get("p95_ms") is not None and faiss_["p95_ms"] <= target),
            ]
        )
        rows.append(
            [
                f"RSS MB @ {n:,} chunks (synthetic)",
                size.get("rss_mb"),
                f"start {search.get('base_rss_mb')}",
                None,
                "<= 2500",
                check((size.get("rss_mb") or 1e9) <= 2500),
            ]
        )
    index = load("bench_index")
    for entry in g(index, "results") or []:
        ivf, flat = entry.get("ivf", {}), entry.get("flat", {})
        target = 25 if entry["size"] <= 100_000 else 50
        rows.append(
            [
                f"IVF p95 ms @ {entry['size']:,} (synthetic)",
                ivf.get("p95_ms"),
                f"flat {flat.get('p95_ms')}",
                round(flat["p95_ms"] / ivf["p95_ms"], 1) if ivf.get("p95_ms") else None,
                f"<= {target}, recall@10 >= 0.95",
                check(ivf.get("p95_ms", 1e9) <= target and ivf.get("recall@10", 0) >= 0.95)
                + f" (R@10 {ivf.get('recall@10')})",
            ]
        )
    gen = load("bench_generate")
    base = g(gen, "results", "transformers float32") or {}
    for name, r in (g(gen, "results") or {}).items():
        rows.append(
            [
                f"generate {name}: load s / TTFT s / tok/s",
                f"{r['load_s']} / {r['ttft_s']} / {r['tok_per_s']}",
                "transformers fp32",
                round(r["tok_per_s"] / base["tok_per_s"], 2) if base else None,
                "load <= 5 s",
                check(r["load_s"] <= 5),
            ]
        )
    ask = load("bench_ask")
    for mode, r in (g(ask, "results") or {}).items():
        target = 300 if mode == "extractive" else 5000
        rows.append(
            [
                f"/ask {mode} TTFT p50/p95 ms",
                f"{r['ttft']['p50_ms']}/{r['ttft']['p95_ms']}",
                None,
                None,
                "TTFT <= 1500",
                check(r["ttft"]["p95_ms"] <= 1500),
            ]
        )
        rows.append(
            [
                f"/ask {mode} total p50/p95 ms",
                f"{r['total']['p50_ms']}/{r['total']['p95_ms']}",
                None,
                None,
                f"p95 <= {target}",
                check(r["total"]["p95_ms"] <= target),
            ]
        )
    summ = load("bench_summarize")
    for mode, r in (g(summ, "results") or {}).items():
        rows.append(
            [f"/summarize {mode} p50/p95 ms", f"{r['p50_ms']}/{r['p95_ms']}", None, None, "-", "-"]
        )
    load_test = load("load_test")
    if load_test:
        rows.append(
            [
                "/search p95 ms while /ask streams",
                g(load_test, "search_while_ask_streams", "p95_ms"),
                f"alone {g(load_test, 'search_alone', 'p95_ms')}",
                None,
                "-",
                "-",
            ]
        )
        errors = g(load_test, "server_errors") or []
        lost = len(g(load_test, "lost_documents", "lost") or [])
        rows.append(
            [
                "load test: 5xx / lost documents",
                f"{len(errors)} / {lost}",
                None,
                None,
                "0 / 0",
                check(not errors and not lost),
            ]
        )
    scale = load("bench_scale")
    latency = g(scale, "latency") or {}
    if latency:
        f, m = latency.get("faiss", {}), latency.get("milvus", {})
        rows.append(
            [
                f"/search p50/p95 ms, Milvus Lite @ {m.get('chunks', 0):,} (synthetic)",
                f"{m.get('p50_ms')}/{m.get('p95_ms')}",
                f"FAISS {f.get('p50_ms')}/{f.get('p95_ms')}",
                round(m["p95_ms"] / f["p95_ms"], 1) if f.get("p95_ms") else None,
                "-",
                "-",
            ]
        )
    for endpoint in ("search", "ask_extractive"):
        one = g(scale, "throughput", "1", endpoint) or {}
        two = g(scale, "throughput", "2", endpoint) or {}
        if one and two:
            rows.append(
                [
                    f"{endpoint} req/s, 2 Ray replicas",
                    two.get("rps"),
                    f"1 replica {one.get('rps')}",
                    round(two["rps"] / one["rps"], 2) if one.get("rps") else None,
                    "runs (little gain on 2 cores)",
                    check(two.get("errors") == 0 and two.get("replicas_seen") == 2),
                ]
            )
    feeds = load("bench_feeds")
    if feeds:
        rows.append(
            [
                f"URLs ingested/s from a local server ({feeds.get('pages')} pages)",
                feeds.get("urls_per_s"),
                f"unchanged {feeds.get('urls_per_s_unchanged')}",
                "-",
                f"extraction {feeds.get('extract_share', 0):.1%} of the time",
                "-",
            ]
        )
    stories = load("bench_stories")
    scale = g(stories, "scale") or {}
    if scale:
        new = scale["new"]
        rows.append(
            [
                f"story filing p50/p95 ms @ {scale['stored_articles']:,} articles (synthetic)",
                f"{new['filing_p50_ms']}/{new['filing_p95_ms']}",
                f"{new['candidates_p50']} candidate stories",
                None,
                "-",
                "-",
            ]
        )
    ingest = g(stories, "throughput") or {}
    if ingest:
        rows.append(
            [
                "ingest chunks/s, stories on vs off",
                ingest["on_chunks_per_s"],
                f"off {ingest['off_chunks_per_s']}",
                ingest["ratio_on_off"],
                f">= 0.9 (filing {ingest['filing_share']:.1%} of the time)",
                check(ingest["meets_target"]),
            ]
        )
    configured = g(stories, "quality", "configured") or {}
    if configured:
        a = configured["all"]
        rows.append(
            [
                "story grouping B-cubed P/R/F1 (labelled news set)",
                f"{a['precision']}/{a['recall']}/{a['f1']}",
                f"split {a['split']}, merged {a['merged']}",
                None,
                "-",
                "-",
            ]
        )
    return rows


def render() -> str:
    m = machine()
    head = (
        f"Machine: {m['cores']} cores, {m['cpu']} ({' '.join(m['cpu_flags']) or 'flags unknown'}); "
        f"torch {m['torch']}, transformers "
        f"{m['transformers']}, sentence-transformers {m['sentence_transformers']}, faiss "
        f"{m['faiss']}. Models: all-MiniLM-L6-v2 (embeddings), gemma-3-270m (generator)."
    )
    body = table(["figure", "value", "reference", "ratio", "target", "met"], summary_rows())
    return f"{head}\n\n{body}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--skip", nargs="*", default=[])
    ap.add_argument("--summary-only", action="store_true", help="only rebuild the table")
    ap.add_argument("--update-readme", action="store_true")
    args = ap.parse_args()

    if not args.summary_only:
        for name, cmd in BENCHES.items():
            if (args.only and name not in args.only) or name in args.skip:
                continue
            if name in NEEDS_EVAL and not SHARED_EVAL.exists():
                print(f"skipping {name}: {SHARED_EVAL} is not here")
                continue
            print(f"\n=== {name} ===", flush=True)
            t0 = time.perf_counter()
            rc = subprocess.call([sys.executable, *cmd], cwd=ROOT)
            print(f"=== {name}: exit {rc}, {time.perf_counter() - t0:.0f} s", flush=True)
    text = render()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text(text)
    (RESULTS / "summary.json").write_text(
        json.dumps({"machine": machine(), "rows": summary_rows()}, indent=1)
    )
    print("\n" + text)
    if args.update_readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in content and end in content:
            before, rest = content.split(start, 1)
            after = rest.split(end, 1)[1]
            readme.write_text(f"{before}{start}\n{text}{end}{after}")
            print("README.md updated")


if __name__ == "__main__":
    main()
