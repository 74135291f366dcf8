"""Benchmark the reader alone on this CPU: int8 vs fp32, threads, batch shapes, ORT spinning.

    python -m scripts.bench.reader [DATA.jsonl] [--questions 80] [--repeats 2]

Ingests the SQuAD 2.0 dev paragraphs of DATA (default ../shared/data/eval/squad_v2_dev.jsonl)
into a temporary service, records the reader's real inputs for ``--questions`` questions (the
16 candidate sentences the service hands it), then times one request at a time on ONNX Runtime:

* the shipped int8 model as the service runs it (one forward pass per request, 2 and 1 intra-op
  threads, and with ORT's thread spinning off);
* the same with the request's sentences in length buckets (``reader.length_buckets``), and as
  batches of one sentence: less padding, but int8 activations are quantized per forward pass,
  so the scores move (the README's "Batching and threads" has what that did to answers);
* four requests in one forward pass (what cross-request batching would do on the int8 path);
* an fp32 export of the same network (random weights: speed does not depend on their values)
  and its int8 quantization, to compare precisions on this CPU.

Prints a table with the CPU's flags (AVX2 / AVX-512 / VNNI / AMX decide the int8 speed-up) and
writes bench/results/bench_reader.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from qa_service.answer.options import AskOptions
from qa_service.config import Settings
from qa_service.models.loading import load_models
from qa_service.models.onnx import make_session
from qa_service.models.reader import ReadRequest, TransformersReader, length_buckets, pad_batch
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from scripts.common import ROOT, SHARED_EVAL, cpu_line, load_jsonl, require, table, write_results

READER = ROOT / "models" / "reader"
Pairs = list[tuple[list[int], list[int]]]  # (input ids, token type ids) per sentence


def record_inputs(data: Path, n: int, seed: int) -> list[ReadRequest]:
    """The reader's inputs for n questions, as the service builds them."""
    rows = load_jsonl(require(data))
    docs = [r for r in rows if r.get("type") == "document"]
    questions = [r["question"] for r in rows if r.get("type") == "question"]
    random.Random(seed).shuffle(questions)
    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="qa-bench-reader-")), generator="none"
    )
    models = load_models(settings)
    service = QAService(settings, models)
    seen: list[ReadRequest] = []
    assert models.reader is not None, "the reader is off (QA_READER=none)"
    real = models.reader.read

    def spy(question: str, sentences: Any, contexts: Any = None) -> Any:
        seen.append(ReadRequest(question, list(sentences), contexts))
        return real(question, sentences, contexts)

    models.reader.read = spy  # type: ignore[method-assign]
    try:
        for i in range(0, len(docs), 64):
            service.ingest([DocumentIn(id=d["id"], title=d.get("title"), text=d["text"])
                            for d in docs[i : i + 64]])  # fmt: skip
        for q in questions[:n]:
            service.ask(q, AskOptions(mode="extractive"))
    finally:
        service.close()
    return seen


def feed(pairs: Pairs) -> dict[str, np.ndarray]:
    """The reader's padded feed of (input ids, token types) pairs, as the service pads them."""
    return pad_batch([ids for ids, _ in pairs], [types for _, types in pairs])


def time_requests(
    sess: Any, requests: list[Pairs], shape: Callable[[Pairs], list[Pairs]], group: int, reps: int
) -> dict[str, float]:
    """Per-request milliseconds when ``group`` requests are read together, ``shape`` cutting
    their pairs into forward passes."""
    times = []
    for _ in range(reps):
        for g in range(0, len(requests), group):
            pairs = [p for r in requests[g : g + group] for p in r]
            t0 = time.perf_counter()
            for batch in shape(pairs):
                sess.run(["score", "start", "end"], feed(batch))
            times.append((time.perf_counter() - t0) * 1000 / group)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "mean_ms": round(statistics.fmean(times), 1)}  # fmt: skip


def one_pass(pairs: Pairs) -> list[Pairs]:
    return [pairs]


def buckets(pairs: Pairs) -> list[Pairs]:
    return [[pairs[k] for k in b] for b in length_buckets([len(p[0]) for p in pairs], 32)]


def singles(pairs: Pairs) -> list[Pairs]:
    return [[p] for p in pairs]


def export_random(folder: Path) -> tuple[Path, Path]:
    """fp32 and int8 ONNX of the reader network with random weights, exported and quantized as
    ``scripts/train/reader.py`` does (``models.reader_export``)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer

    from qa_service.models.reader_export import export_fp32_onnx, quantize_reader
    from qa_service.models.reader_net import build_net

    torch.manual_seed(0)
    net = build_net(AutoConfig.from_pretrained(READER))
    fp32, int8 = folder / "fp32.onnx", folder / "int8.onnx"
    export_fp32_onnx(net, AutoTokenizer.from_pretrained(READER), fp32)
    quantize_reader(fp32, int8)
    return fp32, int8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=SHARED_EVAL / "squad_v2_dev.jsonl")
    ap.add_argument("--questions", type=int, default=80)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    recorded = record_inputs(args.data, args.questions, args.seed)
    reader = TransformersReader(str(READER))
    requests: list[Pairs] = []
    for r in recorded:
        enc = reader.tokenizer([r.question] * len(r.sentences), list(r.sentences),
                               truncation="only_second", max_length=reader.max_length)  # fmt: skip
        requests.append(list(zip(enc["input_ids"], enc["token_type_ids"], strict=True)))
    tokens = [len(ids) for r in requests for ids, _ in r]
    padded = sum(len(r) * max(len(ids) for ids, _ in r) for r in requests)
    waste = 1 - sum(tokens) / padded

    shipped = READER / "model.onnx"
    variants: list[tuple[str, Path | str, int, bool, Callable[[Pairs], list[Pairs]], int]] = [
        ("shipped int8, one pass per request (the service)", shipped, 2, True, one_pass, 1),
        ("shipped int8, one pass per request, 1 thread", shipped, 1, True, one_pass, 1),
        ("shipped int8, one pass per request, ORT spinning off", shipped, 2, False, one_pass, 1),
        ("shipped int8, length buckets (scores move)", shipped, 2, True, buckets, 1),
        ("shipped int8, batches of one sentence (scores move)", shipped, 2, True, singles, 1),
        ("shipped int8, 4 requests in one pass (scores move)", shipped, 2, True, one_pass, 4),
        ("fp32 export, one pass per request", "fp32", 2, True, one_pass, 1),
        ("fp32 export, 4 requests in length buckets", "fp32", 2, True, buckets, 4),
        ("int8 of that fp32 export, one pass per request", "int8", 2, True, one_pass, 1),
    ]  # fmt: skip
    rows, results = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = export_random(Path(tmp))
        paths = {"fp32": fp32, "int8": int8}
        for label, model, threads, spin, shape, group in variants:
            path = paths.get(str(model), Path(model))
            sess = make_session(path, threads, spinning=spin)
            time_requests(sess, requests[:8], shape, group, 1)  # warm-up
            res = time_requests(sess, requests, shape, group, args.repeats)
            results[label] = res
            rows.append([label, res["p50_ms"], res["p95_ms"], res["mean_ms"]])
            print(f"  {label}: {res}", file=sys.stderr)
    print(f"\nReader per request ({len(requests)} questions, "
          f"{statistics.fmean(len(r) for r in requests):.1f} sentences each, "
          f"{statistics.fmean(tokens):.0f} tokens per pair, {waste:.0%} of a one-pass batch is "
          f"padding)\n{cpu_line()}\n")  # fmt: skip
    print(table(["variant", "p50 ms", "p95 ms", "mean ms"], rows))
    summary = {"questions": len(requests), "padding_share": round(waste, 3), "results": results}
    path = write_results("bench_reader", summary)
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
