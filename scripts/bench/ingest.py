"""Ingest throughput against raw encoding, as a ratio measured in the same run.

    python -m scripts.bench.ingest [DATA.jsonl] [--news] [--limit N] [--repeats R]
        [--backend torch|onnx]

On the same documents and the same loaded embedder, it measures:

  raw encode      embedder.embed() over exactly the texts the service embeds (its own chunking
                  and title prefix), in one call: the ceiling for ingestion speed;
  raw, per batch  the same texts, one embed() call per ingest batch (the padding and batching
                  the service cannot avoid when documents arrive 64 at a time);
  service ingest  QAService.ingest() in batches of 64 documents into a fresh data directory:
                  chunking, hashing, embedding, the SQLite transaction and the FAISS update;
  re-ingest       the same documents again: all unchanged, so no embedding work at all.

The ratio service / raw chunks per second (wall clock) is the figure reported against the
target (>= 0.85); the same ratio in CPU time of this process is shown beside it.
The three timed steps run R times, in rotated order; the table shows the fastest of each
(other processes only ever add time, so the minimum is the least noisy estimate), the JSON
every run. The padded-token count predicts, free of timing noise, what batching alone costs
the encoder.
The generator is not loaded. Results go to bench/results/bench_ingest.json (torch) or
bench_ingest_onnx.json (``--backend onnx``: the ONNX embedder, prepared by
``qa-service prepare-models --onnx``; raw encode then means the ONNX embedder too).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa_service.config import Settings
from qa_service.models.batching import BatchedEmbedder
from qa_service.models.embedding import Embedder
from qa_service.models.loading import Models, load_models
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from scripts.common import (
    ROOT,
    SHARED_EVAL,
    cpu_line,
    load_average,
    load_jsonl,
    require,
    rss_mb,
    table,
    write_results,
)

BATCH_DOCS = 64


def load_docs(paths: list[Path], limit: int) -> list[DocumentIn]:
    """Documents of the eval files (SQuAD question records are skipped)."""
    docs = [
        DocumentIn(id=r["id"], title=r.get("title"), text=r["text"])
        for path in paths
        for r in load_jsonl(require(path))
        if r.get("type", "document") == "document"
    ]
    return docs[:limit] if limit else docs


def batches(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


BACKEND = "torch"


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, generator="none", embedding_backend=BACKEND)


def embed_texts(models: Models, docs: list[DocumentIn]) -> tuple[list[list[str]], float]:
    """Per document, the exact texts ingest embeds (service chunking and title prefix)."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            t0 = time.perf_counter()
            texts = [
                [service.encoder.embed_text(d.title, c.text) for c in service.encoder.chunk(d.text)]
                for d in docs
            ]
            elapsed = time.perf_counter() - t0
        finally:
            service.close()
    return texts, elapsed


def padded_tokens(calls: list[list[tuple[int, int]]], batch_size: int, limit: int) -> int:
    """Tokens the encoder runs, padding included, for one embed() call per list of texts.

    Mirrors sentence-transformers on CPU: each call sorts its texts by character length, longest
    first, and pads each batch to its longest text (+2 special tokens, at most ``limit``). It
    predicts, free of timing noise, what splitting ingestion into batches costs the encoder.
    """
    total = 0
    for texts in calls:
        ordered = sorted(texts, key=lambda t: -t[0])
        for i in range(0, len(ordered), batch_size):
            batch = ordered[i : i + batch_size]
            total += len(batch) * min(limit, max(n for _, n in batch) + 2)
    return total


class Clock:
    """Wall and CPU seconds of this process: CPU time barely moves when other processes compete
    for the cores (it counts work, not waiting), so it is the steadier measure on a busy machine.
    """

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def raw_embedder(models: Models) -> Embedder:
    """The model itself, without the service's batching queue in front of it."""
    emb = models.embedder
    return emb.inner if isinstance(emb, BatchedEmbedder) else emb


def raw_encode(models: Models, texts: list[str]) -> dict[str, float]:
    with Clock() as c:
        raw_embedder(models).embed(texts)
    return {"raw_s": c.wall, "raw_cpu_s": c.cpu}


def raw_encode_batched(models: Models, per_doc: list[list[str]]) -> dict[str, float]:
    with Clock() as c:
        for group in batches(per_doc, BATCH_DOCS):
            raw_embedder(models).embed([t for doc in group for t in doc])
    return {"raw_batched_s": c.wall, "raw_batched_cpu_s": c.cpu}


def service_ingest(models: Models, docs: list[DocumentIn]) -> dict[str, Any]:
    """Ingest into a fresh data directory, then ingest the same documents again."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            chunks = unchanged = 0
            with Clock() as first:
                for group in batches(docs, BATCH_DOCS):
                    chunks += sum(r.chunks for r in service.ingest(group))
            with Clock() as again:
                for group in batches(docs, BATCH_DOCS):
                    unchanged += sum(r.status == "unchanged" for r in service.ingest(group))
        finally:
            service.close()
    return {
        "chunks": chunks,
        "ingest_s": first.wall,
        "ingest_cpu_s": first.cpu,
        "reingest_s": again.wall,
        "unchanged": unchanged,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=SHARED_EVAL / "squad_v2_dev.jsonl",
        help="JSONL with document records (default: SQuAD v2 dev from ../shared/data/eval)",
    )
    ap.add_argument(
        "--news", action="store_true", help="add the news articles (news_summaries_dev.jsonl)"
    )
    ap.add_argument("--limit", type=int, default=0, help="use only the first N documents")
    ap.add_argument(
        "--repeats", type=int, default=3, help="alternating raw/service runs (default 3)"
    )
    ap.add_argument("--backend", choices=["torch", "onnx"], default="torch", help="embedder")
    args = ap.parse_args()
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    global BACKEND
    BACKEND = args.backend
    if BACKEND == "onnx":
        from qa_service.models.prepare import prepare_onnx

        prepare_onnx(ROOT / "models")  # no-op when already exported

    load_start = load_average(warn=True)
    paths = [args.data] + ([SHARED_EVAL / "news_summaries_dev.jsonl"] if args.news else [])
    docs = load_docs(paths, args.limit)
    settings = Settings(generator="none", embedding_backend=BACKEND)
    t0 = time.perf_counter()
    models = load_models(settings)
    load_s = time.perf_counter() - t0
    print(f"embedder loaded in {load_s:.1f}s; {len(docs)} documents; {cpu_line()}")

    per_doc, chunking_s = embed_texts(models, docs)
    texts = [t for doc in per_doc for t in doc]
    chars = sum(len(t) for t in texts)
    per_doc_sizes = [
        [(len(t), n) for t, n in zip(doc, models.embedder.count_tokens(doc), strict=True)]
        for doc in per_doc
    ]
    counts = [n for doc in per_doc_sizes for _, n in doc]
    tokens = sum(counts)
    truncated = sum(n > models.embedder.max_tokens for n in counts)
    if truncated:
        print(f"warning: {truncated} texts exceed {models.embedder.max_tokens} tokens (truncated)")
    bs, limit = settings.embedding_batch_size, models.embedder.max_tokens + 2
    padded_one = padded_tokens([[t for doc in per_doc_sizes for t in doc]], bs, limit)
    padded_batched = padded_tokens(
        [[t for doc in group for t in doc] for group in batches(per_doc_sizes, BATCH_DOCS)],
        bs,
        limit,
    )
    models.embedder.embed(texts[: 4 * bs])  # warm-up (not timed)

    steps: list[Callable[[], dict[str, Any]]] = [
        lambda: raw_encode(models, texts),
        lambda: raw_encode_batched(models, per_doc),
        lambda: service_ingest(models, docs),
    ]
    runs: list[dict[str, Any]] = []
    for i in range(args.repeats):
        run: dict[str, Any] = {}
        for step in steps[i % 3 :] + steps[: i % 3]:  # rotated: no method always goes first
            run |= step()
        runs.append(run)
        print(
            f"run {i + 1}/{args.repeats} (wall / CPU s): raw {run['raw_s']:.1f} / "
            f"{run['raw_cpu_s']:.1f}, raw per batch {run['raw_batched_s']:.1f} / "
            f"{run['raw_batched_cpu_s']:.1f}, ingest {run['ingest_s']:.1f} / "
            f"{run['ingest_cpu_s']:.1f}, re-ingest {run['reingest_s']:.3f}"
        )
        if run["chunks"] != len(texts):
            print(f"warning: ingest made {run['chunks']} chunks, the service chunker {len(texts)}")

    def best(key: str) -> float:
        return float(min(r[key] for r in runs))

    n = len(texts)
    raw_cps, batched_cps = n / best("raw_s"), n / best("raw_batched_s")
    service_cps = runs[0]["chunks"] / best("ingest_s")
    ratio = service_cps / raw_cps
    raw_cpu, batched_cpu = n / best("raw_cpu_s"), n / best("raw_batched_cpu_s")
    service_cpu = runs[0]["chunks"] / best("ingest_cpu_s")
    ratio_cpu = service_cpu / raw_cpu
    load_end = load_average()
    print()
    print(
        table(
            [
                "clock",
                "raw encode chunks/s",
                "raw per-batch chunks/s",
                "service ingest chunks/s",
                "ratio service/raw (target >= 0.85)",
            ],
            [
                ["wall", raw_cps, batched_cps, service_cps, f"{ratio:.3f}"],
                ["CPU time", raw_cpu, batched_cpu, service_cpu, f"{ratio_cpu:.3f}"],
            ],
        )
    )
    print()
    print(
        table(
            ["docs", "chunks", "tokens/chunk", "re-ingest s", "chunking s", "load avg"],
            [
                [
                    len(docs),
                    n,
                    round(tokens / max(1, n)),
                    round(best("reingest_s"), 3),
                    round(chunking_s, 2),
                    f"{load_start} -> {load_end}",
                ]
            ],
        )
    )
    path = write_results(
        "bench_ingest" if BACKEND == "torch" else f"bench_ingest_{BACKEND}",
        {
            "backend": BACKEND,
            "data": [p.name for p in paths],
            "documents": len(docs),
            "chunks": len(texts),
            "chars": chars,
            "tokens": tokens,
            "max_tokens_per_text": max(counts, default=0),
            "texts_over_model_limit": truncated,
            "batch_docs": BATCH_DOCS,
            "embedding_batch_size": bs,
            "embedder": models.embedder.name,
            "chunk_tokens": settings.chunk_tokens,
            "embed_titles": settings.embed_titles,
            "padded_tokens_one_call": padded_one,
            "padded_tokens_per_batch": padded_batched,
            "ratio_predicted_by_padding": round(padded_one / padded_batched, 4),
            "model_load_s": round(load_s, 2),
            "chunking_s": round(chunking_s, 3),
            "raw_chunks_per_s": round(raw_cps, 2),
            "raw_per_batch_chunks_per_s": round(batched_cps, 2),
            "service_chunks_per_s": round(service_cps, 2),
            "ratio": round(ratio, 4),
            "target_ratio": 0.85,
            "meets_target": ratio >= 0.85,
            "raw_chunks_per_cpu_s": round(raw_cpu, 2),
            "raw_per_batch_chunks_per_cpu_s": round(batched_cpu, 2),
            "service_chunks_per_cpu_s": round(service_cpu, 2),
            "ratio_cpu": round(ratio_cpu, 4),
            "reingest_s": round(best("reingest_s"), 4),
            "reingest_unchanged": runs[-1]["unchanged"],
            "rss_mb": round(rss_mb(), 1),
            "load_avg_start": load_start,
            "load_avg_end": load_end,
            "estimator": f"fastest of {len(runs)} runs, order rotated",
            "runs": runs,
        },
    )
    print(
        f"\npadded tokens the encoder runs: {padded_one:,} in one call, {padded_batched:,} in "
        f"{BATCH_DOCS}-document calls (real tokens {tokens + 2 * len(texts):,}); batching alone "
        f"predicts a ratio of about {padded_one / padded_batched:.2f}"
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
