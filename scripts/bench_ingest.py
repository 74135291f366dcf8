"""Ingest throughput against raw encoding, as a ratio measured in the same run.

    python scripts/bench_ingest.py [DATA.jsonl] [--news] [--limit N] [--repeats R]

On the same documents and the same loaded embedder, it measures:

  raw encode      embedder.embed() over exactly the texts the service embeds (its own chunking
                  and title prefix), in one call: the ceiling for ingestion speed;
  raw, per batch  the same texts, one embed() call per ingest batch (the padding and batching
                  the service cannot avoid when documents arrive 64 at a time);
  service ingest  QAService.ingest() in batches of 64 documents into a fresh data directory:
                  chunking, hashing, embedding, the SQLite transaction and the FAISS update;
  re-ingest       the same documents again: all unchanged, so no embedding work at all.

The ratio service / raw chunks per second is the figure reported against the target (>= 0.85).
Raw and service runs alternate R times; the table shows the medians, the JSON every run.
The generator is not loaded. Results go to bench/results/bench_ingest.json.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _bench import SHARED_EVAL, load_jsonl, require, rss_mb, table, write_results

from qa_service.config import Settings
from qa_service.schemas import DocumentIn
from qa_service.service import Models, QAService, load_models

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


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, generator="none")


def embed_texts(models: Models, docs: list[DocumentIn]) -> tuple[list[list[str]], float]:
    """Per document, the exact texts ingest embeds (service chunking and title prefix)."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            t0 = time.perf_counter()
            texts = [
                [service._embed_text(d.title, c.text) for c in service._chunk(d.text)] for d in docs
            ]
            elapsed = time.perf_counter() - t0
        finally:
            service.close()
    return texts, elapsed


def raw_encode(models: Models, texts: list[str]) -> float:
    t0 = time.perf_counter()
    models.embedder.embed(texts)
    return time.perf_counter() - t0


def raw_encode_batched(models: Models, per_doc: list[list[str]]) -> float:
    t0 = time.perf_counter()
    for group in batches(per_doc, BATCH_DOCS):
        models.embedder.embed([t for doc in group for t in doc])
    return time.perf_counter() - t0


def service_ingest(models: Models, docs: list[DocumentIn]) -> dict[str, Any]:
    """Ingest into a fresh data directory, then ingest the same documents again."""
    with tempfile.TemporaryDirectory(prefix="qa-bench-ingest-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            chunks = 0
            t0 = time.perf_counter()
            for group in batches(docs, BATCH_DOCS):
                chunks += sum(r.chunks for r in service.ingest(group))
            ingest_s = time.perf_counter() - t0
            unchanged = 0
            t0 = time.perf_counter()
            for group in batches(docs, BATCH_DOCS):
                unchanged += sum(r.status == "unchanged" for r in service.ingest(group))
            reingest_s = time.perf_counter() - t0
        finally:
            service.close()
    return {
        "chunks": chunks,
        "ingest_s": ingest_s,
        "reingest_s": reingest_s,
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
    args = ap.parse_args()

    paths = [args.data] + ([SHARED_EVAL / "news_summaries_dev.jsonl"] if args.news else [])
    docs = load_docs(paths, args.limit)
    settings = Settings(generator="none")
    t0 = time.perf_counter()
    models = load_models(settings)
    load_s = time.perf_counter() - t0
    print(f"embedder loaded in {load_s:.1f}s; {len(docs)} documents")

    per_doc, chunking_s = embed_texts(models, docs)
    texts = [t for doc in per_doc for t in doc]
    chars = sum(len(t) for t in texts)
    tokens = sum(models.embedder.count_tokens(texts))
    models.embedder.embed(texts[: 4 * models.embedder.batch_size])  # warm-up (not timed)

    runs: list[dict[str, Any]] = []
    for i in range(args.repeats):
        run: dict[str, Any] = {"raw_s": raw_encode(models, texts)}
        run["raw_batched_s"] = raw_encode_batched(models, per_doc)
        run |= service_ingest(models, docs)
        runs.append(run)
        print(
            f"run {i + 1}/{args.repeats}: raw {run['raw_s']:.1f}s, raw per batch "
            f"{run['raw_batched_s']:.1f}s, ingest {run['ingest_s']:.1f}s, "
            f"re-ingest {run['reingest_s']:.3f}s"
        )
        if run["chunks"] != len(texts):
            print(f"warning: ingest made {run['chunks']} chunks, the service chunker {len(texts)}")

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    raw_cps = len(texts) / median("raw_s")
    batched_cps = len(texts) / median("raw_batched_s")
    service_cps = median("chunks") / median("ingest_s")
    ratio = service_cps / raw_cps
    print()
    print(
        table(
            [
                "docs",
                "chunks",
                "tokens/chunk",
                "raw encode chunks/s",
                "raw per-batch chunks/s",
                "service ingest chunks/s",
                "ratio (target >= 0.85)",
                "re-ingest s",
                "chunking s",
            ],
            [
                [
                    len(docs),
                    len(texts),
                    round(tokens / max(1, len(texts))),
                    raw_cps,
                    batched_cps,
                    service_cps,
                    round(ratio, 3),
                    round(median("reingest_s"), 3),
                    round(chunking_s, 2),
                ]
            ],
        )
    )
    path = write_results(
        "bench_ingest",
        {
            "data": [p.name for p in paths],
            "documents": len(docs),
            "chunks": len(texts),
            "chars": chars,
            "tokens": tokens,
            "batch_docs": BATCH_DOCS,
            "embedding_batch_size": models.embedder.batch_size,
            "chunk_tokens": settings.chunk_tokens,
            "embed_titles": settings.embed_titles,
            "model_load_s": round(load_s, 2),
            "chunking_s": round(chunking_s, 3),
            "raw_chunks_per_s": round(raw_cps, 2),
            "raw_per_batch_chunks_per_s": round(batched_cps, 2),
            "service_chunks_per_s": round(service_cps, 2),
            "ratio": round(ratio, 4),
            "target_ratio": 0.85,
            "meets_target": ratio >= 0.85,
            "reingest_s": round(median("reingest_s"), 4),
            "reingest_unchanged": runs[-1]["unchanged"],
            "rss_mb": round(rss_mb(), 1),
            "runs": runs,
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
