"""Embedding backends side by side: torch (sentence-transformers) vs ONNX Runtime fp32 vs int8.

    python -m scripts.bench.embed [--texts 500] [--words 80] [--repeats 3] [--threads N]
                                  [--onnx-dir DIR]

Same texts for every backend: chunk-sized windows of ``--words`` words cut from the SQuAD v2 dev
paragraphs (../shared/data/eval/squad_v2_dev.jsonl). Per backend:

  chunks/s        embedding the texts (batch 32, all cores or ``--threads``), median of
                  ``--repeats`` runs, interleaved across backends so background load hits them
                  alike
  x torch         speed ratio to the torch backend
  chunks/CPU-s    the same per second of this process's CPU time (all threads): less sensitive
                  to other jobs on the machine; a fair speed measure with --threads 1
  cosine          each text's vector vs the torch vector of the same text: mean and min
  recall@5        SQuAD dev answerable questions: the gold paragraph among the top 5 paragraphs
                  (title + text embedded, as the service does) by exact cosine, numpy only

The issue's rule for a new default backend: >= 2x the torch speed on 2 cores, mean cosine to the
torch vectors >= 0.99 and no loss of recall@5. The ONNX export is made (models/minilm-onnx) when
missing. Results go to bench/results/bench_embed.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.models.embedding import Embedder, SentenceTransformerEmbedder
from qa_service.models.onnx_embedding import OnnxEmbedder, onnx_model_dir
from qa_service.models.prepare import prepare_onnx
from scripts.common import ROOT, SHARED_EVAL, load_jsonl, require, table, write_results

SQUAD = SHARED_EVAL / "squad_v2_dev.jsonl"
MIN_SPEEDUP = 2.0
MIN_MEAN_COSINE = 0.99
TITLE_CHARS = 200  # as the service's _TITLE_CHARS


def chunk_texts(docs: list[dict[str, Any]], n: int, words: int) -> list[str]:
    """``n`` windows of ``words`` words, consecutive within each paragraph (a short tail kept
    only when it has at least half the words)."""
    out: list[str] = []
    for d in docs:
        w = d["text"].split()
        for i in range(0, len(w), words):
            part = w[i : i + words]
            if len(part) >= words // 2:
                out.append(" ".join(part))
            if len(out) == n:
                return out
    return out


def recall_at(
    q: npt.NDArray[np.float32], d: npt.NDArray[np.float32], gold: npt.NDArray[np.int64], k: int
) -> float:
    scores = q @ d.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top, strict=True)]))


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=SQUAD, help="SQuAD-format eval file")
    ap.add_argument("--texts", type=int, default=500, help="chunk-sized texts to embed")
    ap.add_argument("--words", type=int, default=80, help="words per text")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per backend (median)")
    ap.add_argument("--threads", type=int, default=0, help="threads per backend (0: all cores)")
    ap.add_argument("--onnx-dir", type=Path, default=None, help="default: models/minilm-onnx")
    args = ap.parse_args()

    rows = load_jsonl(require(args.data))
    docs = [r for r in rows if r.get("type") == "document"]
    questions = [r for r in rows if r.get("type") == "question" and r.get("answerable")]
    texts = chunk_texts(docs, args.texts, args.words)
    doc_index = {d["id"]: i for i, d in enumerate(docs)}
    gold = np.array([doc_index[q["doc_id"]] for q in questions], dtype=np.int64)
    passages = [f"{(d.get('title') or '')[:TITLE_CHARS]}\n{d['text']}" for d in docs]
    query_texts = [q["question"] for q in questions]

    onnx_dir = args.onnx_dir or onnx_model_dir(ROOT / "models", DEFAULT_EMBEDDING_MODEL)
    if args.onnx_dir is None:
        prepare_onnx(ROOT / "models")  # no-op when already exported
    load_before = load_average()
    cores = os.cpu_count() or 1
    threads = args.threads or cores
    torch.set_num_threads(threads)
    if load_before > 0.5 * cores:
        print(f"warning: load average {load_before} on {cores} cores: timings are noisy")

    backends: dict[str, Embedder] = {}
    load_s: dict[str, float] = {}
    for label, make in (
        (
            "torch",
            lambda: SentenceTransformerEmbedder(
                DEFAULT_EMBEDDING_MODEL, device="cpu", batch_size=args.batch_size
            ),
        ),
        (
            "onnx fp32",
            lambda: OnnxEmbedder(
                onnx_dir, quantized=False, batch_size=args.batch_size, threads=threads
            ),
        ),
        (
            "onnx int8",
            lambda: OnnxEmbedder(
                onnx_dir, quantized=True, batch_size=args.batch_size, threads=threads
            ),
        ),
    ):
        t0 = time.perf_counter()
        backends[label] = make()
        load_s[label] = time.perf_counter() - t0

    torch_embedder = backends["torch"]
    token_counts = torch_embedder.count_tokens(texts)
    for e in backends.values():
        e.embed(texts[: args.batch_size])  # warm-up
    times: dict[str, list[float]] = {label: [] for label in backends}
    cpu: dict[str, list[float]] = {label: [] for label in backends}
    vectors: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(args.repeats):
        for label, e in backends.items():
            t0, c0 = time.perf_counter(), time.process_time()
            vectors[label] = e.embed(texts)
            times[label].append(time.perf_counter() - t0)
            cpu[label].append(time.process_time() - c0)

    recall: dict[str, dict[str, float]] = {}
    for label, e in backends.items():
        dvec = e.embed(passages)
        qvec = e.embed(query_texts)
        recall[label] = {f"recall@{k}": recall_at(qvec, dvec, gold, k) for k in (1, 5)}

    ref = vectors["torch"]
    torch_rate = len(texts) / statistics.median(times["torch"])
    results: dict[str, dict[str, Any]] = {}
    for label, e in backends.items():
        rate = len(texts) / statistics.median(times[label])
        cos = np.sum(vectors[label] * ref, axis=1)
        results[label] = {
            "name": e.name,
            "load_s": round(load_s[label], 2),
            "chunks_per_s": round(rate, 1),
            "chunks_per_s_runs": [round(len(texts) / t, 1) for t in times[label]],
            "chunks_per_cpu_s": round(len(texts) / statistics.median(cpu[label]), 1),
            "speedup_vs_torch": round(rate / torch_rate, 2),
            "cosine_mean": round(float(cos.mean()), 5),
            "cosine_min": round(float(cos.min()), 5),
            **{k: round(v, 4) for k, v in recall[label].items()},
        }
    for r in results.values():
        r["meets_default_rule"] = bool(
            r["speedup_vs_torch"] >= MIN_SPEEDUP
            and r["cosine_mean"] >= MIN_MEAN_COSINE
            and r["recall@5"] >= results["torch"]["recall@5"]
        )
    load_after = load_average()

    print(
        f"{len(texts)} texts of {args.words} words (mean {statistics.fmean(token_counts):.0f} "
        f"tokens), batch {args.batch_size}, {threads} threads on {cores} cores, "
        f"median of {args.repeats} runs; "
        f"{len(questions)} answerable questions over {len(docs)} paragraphs; "
        f"load average {load_before} before, {load_after} after"
    )
    print(
        table(
            [
                "backend",
                "chunks/s",
                "x torch",
                "chunks/CPU-s",
                "cosine mean",
                "cosine min",
                "recall@1",
                "recall@5",
                "load s",
            ],
            [
                [
                    label,
                    r["chunks_per_s"],
                    f"{r['speedup_vs_torch']:.2f}",
                    r["chunks_per_cpu_s"],
                    f"{r['cosine_mean']:.4f}",
                    f"{r['cosine_min']:.4f}",
                    f"{r['recall@1']:.3f}",
                    f"{r['recall@5']:.3f}",
                    r["load_s"],
                ]
                for label, r in results.items()
            ],
        )
    )
    int8 = results["onnx int8"]
    failed: list[str] = []
    if int8["speedup_vs_torch"] < MIN_SPEEDUP:
        failed.append(f"speed {int8['speedup_vs_torch']:.2f}x < {MIN_SPEEDUP}x")
    if int8["cosine_mean"] < MIN_MEAN_COSINE:
        failed.append(f"mean cosine {int8['cosine_mean']:.4f} < {MIN_MEAN_COSINE}")
    if int8["recall@5"] < results["torch"]["recall@5"]:
        failed.append(f"recall@5 {int8['recall@5']:.3f} < torch {results['torch']['recall@5']:.3f}")
    verdict = (
        "onnx int8 MEETS the rule for the default backend (>= 2x, mean cosine >= 0.99, "
        "no recall@5 loss)"
        if int8["meets_default_rule"]
        else "onnx int8 does NOT meet the rule for the default backend: " + "; ".join(failed)
    )
    print(verdict)
    path = write_results(
        "bench_embed",
        {
            "texts": len(texts),
            "words_per_text": args.words,
            "mean_tokens": round(statistics.fmean(token_counts), 1),
            "batch_size": args.batch_size,
            "threads": threads,
            "repeats": args.repeats,
            "questions": len(questions),
            "paragraphs": len(docs),
            "onnx_dir": str(onnx_dir),
            "load_average": {"before": load_before, "after": load_after},
            "rule": {
                "min_speedup": MIN_SPEEDUP,
                "min_mean_cosine": MIN_MEAN_COSINE,
                "recall@5": "no loss vs torch",
            },
            "backends": results,
            "int8_meets_default_rule": int8["meets_default_rule"],
            "verdict": verdict,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
