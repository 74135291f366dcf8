"""Benchmark POST /ask over HTTP: time to first streamed token and full-answer latency per mode.

    python -m scripts.bench.ask [DATA.jsonl] [--questions 100] [--copies 3] [--modes ...]

Serves the app with uvicorn on a random loopback port (models loaded once, default settings),
ingests the SQuAD dev paragraphs of DATA (default ../shared/data/eval/squad_v2_dev.jsonl) as
``--copies`` wire copies each (3 copies: ~1.5k chunks), then streams ``--questions`` answerable
questions (fixed seed) per mode and measures, from the client:

* TTFT: request sent -> first ``delta`` event;
* total: request sent -> ``done`` event;
* reader: the server's own ``timings_ms.read`` (what the reader adds to each question).

Targets (issues #4, #13): TTFT <= 1.5 s, extractive p95 <= 300 ms with the reader on,
generative p95 <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from scripts.common import (
    SHARED_EVAL,
    cpu_line,
    load_jsonl,
    require,
    summary_ms,
    table,
    write_results,
)
from tests.support.live_server import live_server


def stream_ask(client: httpx.Client, url: str, question: str, mode: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    first = None
    final: dict[str, Any] = {}
    kind = None
    payload = {"question": question, "mode": mode, "stream": True}
    with client.stream("POST", f"{url}/ask", json=payload, timeout=120) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                if kind == "delta" and first is None:
                    first = time.perf_counter() - t0
                elif kind == "citations":
                    final = json.loads(line.split(":", 1)[1])
                elif kind == "done":
                    break
    total = time.perf_counter() - t0
    return {"ttft": first if first is not None else total, "total": total, "final": final}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("data", nargs="?", type=Path, default=SHARED_EVAL / "squad_v2_dev.jsonl")
    ap.add_argument("--questions", type=int, default=100)
    ap.add_argument("--copies", type=int, default=3, help="wire copies of each paragraph")
    ap.add_argument("--modes", nargs="+", default=["extractive", "generative"])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from qa_service.api import create_app
    from qa_service.config import Settings
    from qa_service.models.loading import load_models

    records = load_jsonl(require(args.data))
    docs = [r for r in records if r.get("type") == "document"]
    questions = [r for r in records if r.get("type") == "question" and r.get("answerable")]
    random.Random(args.seed).shuffle(questions)
    questions = questions[: args.questions]

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="qa-bench-ask-")))
    t0 = time.perf_counter()
    models = load_models(settings)
    load_s = time.perf_counter() - t0
    rows, results = [], {}
    with live_server(create_app(settings, models=models)) as url, httpx.Client() as client:
        batch = [
            {"id": f"{d['id']}-c{c}", "title": d["title"], "text": d["text"]}
            for c in range(args.copies)
            for d in docs
        ]
        for i in range(0, len(batch), 64):
            client.post(f"{url}/documents", json={"documents": batch[i : i + 64]}, timeout=600)
        ready = client.get(f"{url}/ready").json()
        stream_ask(client, url, "warm-up question about the corpus?", "generative")
        for mode in args.modes:
            runs = [stream_ask(client, url, q["question"], mode) for q in questions]
            ttft = summary_ms([r["ttft"] for r in runs])
            total = summary_ms([r["total"] for r in runs])
            answered = sum(1 for r in runs if r["final"].get("answerable"))
            generated = sum(1 for r in runs if r["final"].get("grounding") == "generated")
            read = summary_ms(
                [r["final"].get("timings_ms", {}).get("read", 0.0) / 1000 for r in runs]
            )
            results[mode] = {"ttft": ttft, "total": total, "answered": answered,
                             "generated": generated, "reader": read}  # fmt: skip
            rows.append(
                [mode, len(runs), ttft["p50_ms"], ttft["p95_ms"], total["p50_ms"],
                 total["p95_ms"], read["p50_ms"], read["p95_ms"], answered, generated]
            )  # fmt: skip
    headers = ["mode", "questions", "TTFT p50 ms", "TTFT p95 ms", "total p50 ms",
               "total p95 ms", "reader p50 ms", "reader p95 ms", "answered",
               "generated"]  # fmt: skip
    print(
        f"\n/ask over HTTP, {ready['documents']} documents / {ready['chunks']} chunks, "
        f"models loaded in {load_s:.1f}s ({models.embedder.name}; "
        f"{models.generator.name if models.generator else 'no generator'}; "
        f"reader {models.reader.name if models.reader else 'off'})\n{cpu_line()}\n"
    )
    print(table(headers, rows))
    path = write_results(
        "bench_ask",
        {"corpus": {"documents": ready["documents"], "chunks": ready["chunks"]},
         "model_load_s": round(load_s, 2), "models": ready["models"], "results": results},
    )  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
