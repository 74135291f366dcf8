"""Generator backends side by side: load time, time to first token, tokens/s.

    python -m scripts.bench.generate [--runs 3] [--tokens 64]

Backends: transformers in float32 and bfloat16 (the converted model in models/), and llama.cpp
on the GGUF (when llama-cpp-python is installed). The prompt is the real /ask prompt for the
seed article's precondition question (~300 tokens). Greedy, no stop sequence, ``--tokens`` new
tokens; median of ``--runs`` (each with another question) after a warm-up, in one process.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts.common import ROOT, table, write_results


def measure(gen: Any, prompts: list[str], tokens: int, runs: int) -> dict[str, float]:
    """Each run asks another question: the prompts share the few-shot prefix, as in service
    (llama.cpp reuses the KV cache of a shared prefix; transformers does not)."""
    list(gen.stream(prompts[-1], max_new_tokens=8))  # warm-up
    ttfts, rates, totals = [], [], []
    for run in range(runs):
        prompt = prompts[run % len(prompts)]
        t0 = time.perf_counter()
        first = None
        for _ in gen.stream(prompt, max_new_tokens=tokens):
            if first is None:
                first = time.perf_counter() - t0
        total = time.perf_counter() - t0
        ttfts.append(first or total)
        totals.append(total)
        rates.append(tokens / total)
    return {
        "ttft_s": round(statistics.median(ttfts), 3),
        "total_s": round(statistics.median(totals), 3),
        "tok_per_s": round(statistics.median(rates), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()

    from qa_service.answer.evidence import Question
    from qa_service.answer.prompts import build_prompt
    from qa_service.config import Settings
    from qa_service.models.cpu import cpu_has_bf16
    from qa_service.models.generation import TransformersGenerator
    from qa_service.models.loading import Models, load_models
    from qa_service.schemas import DocumentIn
    from qa_service.service import QAService

    settings = Settings(generator="none", data_dir=Path(tempfile.mkdtemp()))
    embedder = load_models(settings).embedder
    service = QAService(settings, Models(embedder, None))
    seed = (ROOT / "examples" / "articles" / "syria-hama-counteroffensive.txt").read_text()
    service.ingest([DocumentIn(id="syria", text=seed, title="Syria")])
    questions = [
        "What is Assad's precondition for normalizing ties with Turkey?",
        "How far did the insurgents retreat from Hama?",
        "Who is the UN special envoy for Syria?",
        "Which group leads the insurgency?",
    ]
    evidence = {
        q: service.answerer.gather(Question.of(q, service.searcher.idf), 5, None) for q in questions
    }

    backends: list[tuple[str, Any]] = []
    model_dir = str(settings.models_dir / settings.generator_model)
    for dtype in ("float32", "bfloat16"):
        backends.append((f"transformers {dtype}", lambda d=dtype: TransformersGenerator(
            model_dir, device="cpu", dtype=d)))  # fmt: skip
    try:
        import llama_cpp  # noqa: F401

        from qa_service.models.llamacpp import LlamaCppGenerator

        backends.append(
            ("llama.cpp Q4_K_M", lambda: LlamaCppGenerator(model_dir, settings=settings))
        )
    except ImportError:
        print("llama-cpp-python is not installed: llama.cpp skipped (pip install '.[llamacpp]')")

    rows, results = [], {}
    for name, factory in backends:
        t0 = time.perf_counter()
        gen = factory()
        load_s = time.perf_counter() - t0
        service.answerer.generator = gen
        a = service.answerer
        prompts = [build_prompt(gen, q, a._sources(evidence[q]))[0] for q in questions]
        stats = {"load_s": round(load_s, 2), **measure(gen, prompts, args.tokens, args.runs)}
        results[name] = stats
        rows.append([name, stats["load_s"], stats["ttft_s"], stats["tok_per_s"], stats["total_s"]])
        del gen
    base = results["transformers float32"]["tok_per_s"]
    for row in rows:
        row.append(round(results[row[0]]["tok_per_s"] / base, 2))
    print(f"\nGeneration, {args.tokens} new tokens, CPU native bf16: {cpu_has_bf16()}\n")
    print(table(["backend", "load s", "TTFT s", "tok/s", f"{args.tokens} tok s", "x fp32"], rows))
    path = write_results("bench_generate", {"tokens": args.tokens, "results": results,
                                            "cpu_bf16": cpu_has_bf16()})  # fmt: skip
    print(f"\nwritten to {path}")
    service.close()


if __name__ == "__main__":
    main()
