"""Scale-out figures: Milvus Lite vs FAISS search latency, and throughput with 1 vs 2 replicas.

    python -m scripts.bench.scale [--chunks 100000] [--seconds 30] [--clients 4]
    python -m scripts.bench.scale --backends milvus --no-replicas --searches 20   # start-up only

1. Search latency at ``--chunks`` chunks in each backend: the same synthetic corpus (clustered
   random unit vectors, texts of random words from the seed article; synthetic, said in the
   output) written straight into each store, then ``--searches`` (200) hybrid searches through
   the service. ``restart s`` is a restart: a fresh process opens the store (Milvus: connect,
   load every collection; FAISS: build the index from SQLite) and answers one search; loading
   the embedding model is not counted. (``open s`` reopens in the writing process, where Milvus
   Lite's collections are still loaded.) A run with ``--backends`` or ``--no-replicas`` prints
   its figures without replacing bench/results/bench_scale.json.
2. Throughput: ``qa-service serve --ray`` with 1 and then 2 replicas over one shared
   ``milvus-lite server``, ``--clients`` concurrent clients for ``--seconds`` each on /search and
   on extractive /ask. On this 2-core machine little gain is expected: the point is that it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from scripts.common import ROOT, summary_ms, table, write_results
from tests.support.live_server import free_port, wait_ready

BIN = Path(sys.executable).parent
QUESTIONS = [
    "What is Assad's precondition for normalizing ties with Turkey?",
    "How far did the insurgents retreat from Hama?",
    "Who is the UN special envoy for Syria?",
    "How many lives has the conflict claimed?",
    "What does Turkey hope to facilitate?",
]


def synthetic_writes(n_chunks: int, dim: int, seed_text: str) -> list[Any]:
    from qa_service.storage.types import DocumentWrite, NewChunk, StoredDocument, now_iso

    rng = np.random.default_rng(0)
    words = seed_text.split()
    centres = rng.normal(0, 1, (200, dim)).astype(np.float32)
    writes, made = [], 0
    while made < n_chunks:
        k = min(4, n_chunks - made)
        parts = [" ".join(random.choices(words, k=120)) for _ in range(k)]
        text = "\n".join(parts)
        chunks, pos = [], 0
        for i, p in enumerate(parts):
            v = centres[rng.integers(0, 200)] + rng.normal(0, 0.05, dim).astype(np.float32)
            chunks.append(
                NewChunk(i, pos, pos + len(p), (v / np.linalg.norm(v)).astype(np.float32))
            )
            pos += len(p) + 1
        doc = StoredDocument(id=f"s{len(writes)}", text=text, title=f"Synthetic {len(writes)}",
                             content_hash=f"h{len(writes)}", index_hash="",
                             chunk_count=k, created_at=now_iso(), updated_at=now_iso())  # fmt: skip
        writes.append(DocumentWrite(doc, chunks))
        made += k
    return writes


RESTART = """
import json, time
from qa_service.config import Settings
from qa_service.service import QAService
from qa_service.models.loading import Models, load_models
settings = Settings()
models = Models(load_models(settings).embedder, None)
t0 = time.perf_counter()
service = QAService(settings, models)
service.index.wait_idle()
service.search("Who is the UN special envoy for Syria?", 5)
print(json.dumps({"restart_s": round(time.perf_counter() - t0, 1)}))
service.close()
"""


def restart_s(settings: Any) -> float:
    """Seconds a fresh process takes to open the store and answer one search."""
    env = {**os.environ, "QA_DATA_DIR": str(settings.data_dir), "QA_GENERATOR": "none",
           "QA_VECTOR_STORE": settings.vector_store, "PYTHONPATH": str(ROOT)}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", RESTART], env=env, cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=3600)  # fmt: skip
    return float(json.loads(out.stdout.strip().splitlines()[-1])["restart_s"])


def backend_latency(
    backend: str, n_chunks: int, models: Any, seed_text: str, searches: int = 200
) -> dict[str, Any]:
    from dataclasses import replace

    from qa_service.config import Settings
    from qa_service.service import QAService

    settings = Settings(data_dir=Path(tempfile.mkdtemp()), vector_store=backend, generator="none")
    service = QAService(settings, models)
    writes = synthetic_writes(n_chunks, models.embedder.dim, seed_text)
    config_hash = service.encoder.index_hash
    writes = [replace(w, doc=replace(w.doc, index_hash=config_hash(w.doc.text, w.doc.title)))
              for w in writes]  # fmt: skip
    t0 = time.perf_counter()
    for i in range(0, len(writes), 500):
        service.store.write(writes[i : i + 500])
    write_s = time.perf_counter() - t0
    service.close()
    t0 = time.perf_counter()
    service = QAService(settings, models)  # FAISS: builds its index from SQLite here
    service.index.wait_idle()
    open_s = time.perf_counter() - t0
    for q in QUESTIONS:
        service.search(q, 5)
    times = []
    for i in range(searches):
        t = time.perf_counter()
        service.search(QUESTIONS[i % len(QUESTIONS)] + f" {i}", 5)
        times.append(time.perf_counter() - t)
    chunks = service.store.count_chunks()
    service.close()
    if backend == "milvus":  # Milvus Lite holds its file until its in-process server stops
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(str(settings.data_dir / "milvus.db"))
    return {"chunks": chunks, "write_s": round(write_s, 1), "open_s": round(open_s, 1),
            "restart_s": restart_s(settings), **summary_ms(times)}  # fmt: skip


async def hammer(url: str, path: str, payload_of: Any, clients: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    served: set[str] = set()
    errors = 0

    async def client(i: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=120) as c:
            n = 0
            while time.monotonic() < stop:
                t = time.perf_counter()
                r = await c.post(f"{url}{path}", json=payload_of(i, n))
                latencies.append(time.perf_counter() - t)
                served.add(r.headers.get("x-served-by", "?"))
                errors += r.status_code >= 500
                n += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"requests": len(latencies), "rps": round(len(latencies) / seconds, 2),
            "errors": errors, "replicas_seen": len(served), **summary_ms(latencies)}  # fmt: skip


def replica_throughput(replicas: int, milvus_uri: str, args: Any, seed_text: str) -> dict:
    port = free_port()
    env = {**os.environ, "QA_VECTOR_STORE": "milvus", "QA_MILVUS_URI": milvus_uri,
           "QA_GENERATOR": "none", "QA_DATA_DIR": tempfile.mkdtemp(), "QA_PORT": str(port),
           "RAY_USAGE_STATS_ENABLED": "0", "QA_LOG_LEVEL": "warning"}  # fmt: skip
    proc = subprocess.Popen(
        [BIN / "qa-service", "serve", "--ray", "--replicas", str(replicas),
         "--cpus-per-replica", "0.5"],
        env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, 300)
        doc = {"id": "syria", "title": "Syria", "text": seed_text}
        httpx.post(f"{url}/documents", json={"documents": [doc]}, timeout=120)
        search = asyncio.run(hammer(url, "/search", lambda i, n: {"query": QUESTIONS[(i + n) % 5]},
                                    args.clients, args.seconds))  # fmt: skip
        ask = asyncio.run(hammer(url, "/ask", lambda i, n: {"question": QUESTIONS[(i + n) % 5],
                                                            "mode": "extractive"},
                                 args.clients, args.seconds))  # fmt: skip
        return {"search": search, "ask_extractive": ask}
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run([BIN / "ray", "stop", "--force"], capture_output=True, timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--chunks", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--searches", type=int, default=200, help="searches timed per backend")
    ap.add_argument("--backends", default="faiss,milvus", help="comma-separated")
    ap.add_argument("--no-replicas", action="store_true", help="skip the Ray throughput part")
    args = ap.parse_args()
    backends = [b for b in args.backends.split(",") if b]
    partial = args.no_replicas or set(backends) != {"faiss", "milvus"}

    from qa_service.config import Settings
    from qa_service.models.loading import Models, load_models

    seed_text = (ROOT / "examples" / "articles" / "syria-hama-counteroffensive.txt").read_text()
    models = Models(load_models(Settings(generator="none")).embedder, None)
    latency = {b: backend_latency(b, args.chunks, models, seed_text, args.searches)
               for b in backends}  # fmt: skip
    rows = [[b, r["chunks"], r["write_s"], r["open_s"], r["restart_s"], r["p50_ms"], r["p95_ms"]]
            for b, r in latency.items()]  # fmt: skip
    print(f"\n/search (hybrid, top 5) at {args.chunks:,} synthetic chunks, in process\n")
    print(table(["backend", "chunks", "write s", "open s", "restart s", "p50 ms", "p95 ms"], rows))
    if partial:
        return

    milvus_port = free_port()
    milvus = subprocess.Popen(
        [BIN / "milvus-lite", "server", "--data-dir", tempfile.mkdtemp(), "--host", "127.0.0.1",
         "--port", str(milvus_port)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(3)
        uri = f"http://127.0.0.1:{milvus_port}"
        throughput = {n: replica_throughput(n, uri, args, seed_text) for n in (1, 2)}
    finally:
        os.killpg(milvus.pid, signal.SIGTERM)
        milvus.wait(30)
    rows = []
    for n, r in throughput.items():
        for name, t in r.items():
            rows.append([n, name, t["requests"], t["rps"], t["p50_ms"], t["p95_ms"], t["errors"],
                         t["replicas_seen"]])  # fmt: skip
    print(
        f"\nRay Serve over one milvus-lite server, {args.clients} clients x {args.seconds:.0f} s\n"
    )
    print(table(["replicas", "endpoint", "requests", "req/s", "p50 ms", "p95 ms", "5xx",
                 "replicas answering"], rows))  # fmt: skip
    path = write_results("bench_scale", {"synthetic_corpus": True, "latency": latency,
                                         "throughput": throughput})  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
