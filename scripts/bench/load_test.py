"""Load test: concurrent ingest + search + ask against a live server, then a lost-document check.

Starts ``qa-service serve`` as a subprocess on a temporary data directory and a free loopback
port with the default settings (the generator included; ``--extractive-only`` asks with mode
``extractive``), preloads the seed article and half of the SQuAD 2.0 dev paragraphs
(``../shared/data/eval/squad_v2_dev.jsonl``; without it, variations of the seed article), then:

1. ``--clients`` (8) asyncio clients for ``--seconds`` (120): ~20% ingest (1-4 documents with
   unique ids, some updates of an earlier id), ~50% search, ~30% ask (questions from the eval
   file, mode auto). Per endpoint: requests, errors by status (503 with Retry-After from
   generation back-pressure apart from other 5xx), p50/p95 latency of the successful ones.
2. Zero lost documents: every acknowledged ingest is read back by GET /documents/{id} with the
   acknowledged text; /ready's index counts equal the chunk count.
3. /search p50/p95 alone (``--baseline-seconds``) and while one client streams generative /ask
   requests back to back (``--stream-seconds``).

    .venv/bin/python -m scripts.bench.load_test                # about 5 minutes on 2 cores
    .venv/bin/python -m scripts.bench.load_test --clients 4 --seconds 30 --extractive-only

Prints Markdown tables and writes bench/results/load_test.json; exits 1 on lost documents or 5xx
other than back-pressure. Talks to 127.0.0.1 only; every loop is bounded by its duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scripts.common import (
    ROOT,
    SHARED_EVAL,
    cpu_line,
    load_jsonl,
    pct,
    summary_ms,
    table,
    write_results,
)
from tests.support.crashkit import Server, ServerError, remove_tree

EVAL_FILE = SHARED_EVAL / "squad_v2_dev.jsonl"
ARTICLES = sorted((ROOT / "examples" / "articles").glob("*.txt"))
BUILTIN_QUESTIONS = [
    "What is Assad's precondition for normalizing ties with Turkey?",
    "Who is the UN envoy for Syria?",
    "What did the Syrian army say about the counteroffensive near Hama?",
    "Which groups led the insurgent offensive?",
    "What does Turkey want from Syria?",
    "Where did the fighting take place?",
    "How many people were displaced?",
    "What role does Russia play in the conflict?",
    "Who won the football world cup in 2010?",
    "What is the capital of Australia?",
]
UPDATE_LINES = [
    "Update: the figures in this report were revised on {day} after new information.",
    "Correction ({day}): an earlier version misstated one of the dates.",
    "This article was updated on {day} with comments from local officials.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


# --- corpus -----------------------------------------------------------------------------------
@dataclass
class Corpus:
    preload: list[dict[str, Any]]
    pool: list[dict[str, Any]]  # paragraphs the ingest clients post (with their own ids)
    questions: list[str]
    source: str


def load_corpus(rng: random.Random) -> Corpus:
    seeds = [
        {
            "id": a.stem,
            "title": a.stem.replace("-", " ").capitalize(),
            "text": a.read_text(encoding="utf-8"),
            "source": "example",
        }
        for a in ARTICLES
    ]
    if EVAL_FILE.exists():
        rows = load_jsonl(EVAL_FILE)
        docs = [
            {"title": r.get("title"), "text": r["text"], "source": r.get("source")}
            for r in rows
            if r.get("type") == "document"
        ]
        ids = [r["id"] for r in rows if r.get("type") == "document"]
        preload = seeds + [dict(d, id=i) for d, i in zip(docs[::2], ids[::2], strict=True)]
        questions = [r["question"] for r in rows if r.get("type") == "question"]
        return Corpus(preload, docs[1::2], questions, f"seed article + {EVAL_FILE.name}")
    text = "\n\n".join(s["text"] for s in seeds)
    paragraphs = [p for p in text.split("\n\n") if len(p.split()) > 20]
    pool = []
    for n in range(200):
        picked = rng.sample(paragraphs, min(len(paragraphs), rng.randint(2, 4)))
        pool.append({"title": f"Syria report, variation {n}", "text": "\n\n".join(picked)})
    return Corpus(seeds, pool, BUILTIN_QUESTIONS, "seed article (synthetic variations)")


# --- measurements -----------------------------------------------------------------------------
@dataclass
class Sample:
    endpoint: str
    status: int  # 0: no HTTP response (timeout, connection error)
    seconds: float
    problem: str = ""  # problem type of an error response
    retry_after: bool = False


@dataclass
class Ledger:
    acked: dict[str, str] = field(default_factory=dict)
    maybe: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def classify(s: Sample) -> str:
    if s.status == 0:
        return "client error"
    if 200 <= s.status < 300:
        return "2xx"
    if s.status == 503 and s.problem.endswith("/overloaded"):
        return "503 back-pressure"
    if s.status == 503:
        return "503 other"
    if s.status >= 500:
        return "other 5xx"
    return "4xx"


async def timed(
    client: httpx.AsyncClient, endpoint: str, method: str, url: str, **kw: Any
) -> tuple[Sample, httpx.Response | None]:
    t0 = time.perf_counter()
    try:
        r = await client.request(method, url, **kw)
    except httpx.HTTPError:
        return Sample(endpoint, 0, time.perf_counter() - t0), None
    s = Sample(endpoint, r.status_code, time.perf_counter() - t0)
    if r.status_code >= 400:
        try:
            s.problem = str(r.json().get("type", ""))
        except (json.JSONDecodeError, AttributeError):
            s.problem = ""
        s.retry_after = "retry-after" in r.headers
    return s, r


class Load:
    def __init__(self, url: str, corpus: Corpus, rng: random.Random, ask_mode: str) -> None:
        self.url = url
        self.corpus = corpus
        self.rng = rng
        self.ask_mode = ask_mode
        self.samples: list[Sample] = []
        self.ledger = Ledger()
        self.groundings: Counter[str] = Counter()
        self.fallbacks: Counter[str] = Counter()
        self.errors: list[str] = []
        self._next = 0

    def _new_doc(self, cid: int) -> dict[str, Any]:
        base = self.corpus.pool[self._next % len(self.corpus.pool)]
        lap = self._next // len(self.corpus.pool)
        self._next += 1
        text = base["text"]
        if lap:  # the pool is used up: a varied copy, so the text differs
            text += f"\n\nReprinted ({lap}) on {self.rng.choice(DAYS)}."
        return {
            "id": f"load-c{cid}-{self._next:05d}",
            "title": base.get("title"),
            "text": text,
            "source": base.get("source") or "load-test",
        }

    async def ingest(self, client: httpx.AsyncClient, cid: int, mine: list[str]) -> None:
        docs = []
        if mine and self.rng.random() < 0.3:  # an update of one of this client's documents
            doc_id = self.rng.choice(mine)
            line = self.rng.choice(UPDATE_LINES).format(day=self.rng.choice(DAYS))
            text = self.ledger.acked[doc_id] + f"\n\n{line} (rev {self.rng.randrange(10**6)})"
            docs.append({"id": doc_id, "text": text, "source": "load-test"})
        docs += [self._new_doc(cid) for _ in range(self.rng.randint(1, 4) - len(docs))]
        s, r = await timed(
            client, "POST /documents", "POST", "/documents", json={"documents": docs}
        )
        self.samples.append(s)
        if r is not None and r.status_code == 200:
            for d in docs:
                self.ledger.acked[d["id"]] = d["text"]
                if d["id"] not in mine:
                    mine.append(d["id"])
        elif r is None or r.status_code >= 500:  # unknown outcome: either text is acceptable
            for d in docs:
                self.ledger.maybe[d["id"]].add(d["text"])
        if r is not None and r.status_code >= 500:
            self.errors.append(f"POST /documents {r.status_code}: {r.text[:200]}")

    async def search(self, client: httpx.AsyncClient) -> Sample:
        body = {"query": self.rng.choice(self.corpus.questions), "top_k": 5}
        s, r = await timed(client, "POST /search", "POST", "/search", json=body)
        if r is not None and r.status_code >= 500:
            self.errors.append(f"POST /search {r.status_code}: {r.text[:200]}")
        return s

    async def ask(self, client: httpx.AsyncClient) -> None:
        body = {"question": self.rng.choice(self.corpus.questions), "mode": self.ask_mode}
        s, r = await timed(client, "POST /ask", "POST", "/ask", json=body)
        self.samples.append(s)
        if r is not None and r.status_code == 200:
            out = r.json()
            self.groundings[out["grounding"]] += 1
            if out.get("fallback_reason"):
                self.fallbacks[out["fallback_reason"].split(":")[0]] += 1
        elif r is not None and r.status_code >= 500:
            self.errors.append(f"POST /ask {r.status_code}: {r.text[:200]}")

    async def client(self, client: httpx.AsyncClient, cid: int, deadline: float) -> None:
        mine: list[str] = []
        while time.monotonic() < deadline:
            roll = self.rng.random()
            if roll < 0.2:
                await self.ingest(client, cid, mine)
            elif roll < 0.7:
                self.samples.append(await self.search(client))
            else:
                await self.ask(client)


async def preload(client: httpx.AsyncClient, docs: list[dict[str, Any]], ledger: Ledger) -> None:
    for i in range(0, len(docs), 32):
        batch = docs[i : i + 32]
        r = await client.post("/documents", json={"documents": batch})
        if r.status_code != 200:
            raise ServerError(f"preload failed: {r.status_code} {r.text[:300]}")
        ledger.acked.update((d["id"], d["text"]) for d in batch)


async def check_lost(client: httpx.AsyncClient, ledger: Ledger) -> dict[str, Any]:
    """Every acknowledged document, read back with its acknowledged text."""
    sem = asyncio.Semaphore(4)
    lost: list[str] = []
    wrong: list[str] = []

    async def one(doc_id: str, text: str) -> None:
        async with sem:
            r = await client.get(f"/documents/{doc_id}")
        if r.status_code != 200:
            lost.append(f"{doc_id} ({r.status_code})")
        elif r.json()["text"] != text and r.json()["text"] not in ledger.maybe.get(doc_id, ()):
            wrong.append(doc_id)

    await asyncio.gather(*(one(i, t) for i, t in ledger.acked.items()))
    ready = (await client.get("/ready")).json()
    idx = ready.get("index") or {}
    for _ in range(60):  # background BM25 rebuilds: up to ~30 s
        if idx.get("vectors") == ready["chunks"] == idx.get("keyword_chunks"):
            break
        await asyncio.sleep(0.5)
        ready = (await client.get("/ready")).json()
        idx = ready.get("index") or {}
    return {
        "acknowledged": len(ledger.acked),
        "lost": sorted(lost),
        "wrong_text": sorted(wrong),
        "ready": {"documents": ready["documents"], "chunks": ready["chunks"], "index": idx},
        "index_consistent": idx.get("vectors") == ready["chunks"] == idx.get("keyword_chunks"),
    }


# --- phase 3: /search while /ask streams ------------------------------------------------------
async def search_loop(load: Load, client: httpx.AsyncClient, deadline: float) -> list[Sample]:
    out = []
    while time.monotonic() < deadline:
        out.append(await load.search(client))
    return out


async def stream_loop(
    load: Load, client: httpx.AsyncClient, deadline: float, mode: str
) -> list[dict[str, Any]]:
    """Generative /ask with stream: true, back to back; per request: first delta, total, events."""
    out = []
    while time.monotonic() < deadline:
        body = {"question": load.rng.choice(load.corpus.questions), "mode": mode, "stream": True}
        t0 = time.perf_counter()
        first = None
        events: Counter[str] = Counter()
        status = 0
        try:
            async with client.stream("POST", "/ask", json=body) as r:
                status = r.status_code
                async for line in r.aiter_lines():
                    if line.startswith("event:"):
                        kind = line.split(":", 1)[1].strip()
                        events[kind] += 1
                        if kind == "delta" and first is None:
                            first = time.perf_counter() - t0
        except httpx.HTTPError as e:
            load.errors.append(f"streamed /ask: {e!r}")
        out.append(
            {
                "status": status,
                "first_delta_s": first,
                "total_s": time.perf_counter() - t0,
                "events": dict(events),
            }
        )
    return out


def latency_row(name: str, samples: list[Sample], seconds: float) -> list[Any]:
    kinds = Counter(classify(s) for s in samples)
    ok = [s.seconds for s in samples if 200 <= s.status < 300]
    stats = summary_ms(ok)
    back = [s for s in samples if classify(s) == "503 back-pressure"]
    retry = sum(1 for s in back if s.retry_after)
    return [
        name,
        len(samples),
        kinds["2xx"],
        kinds["4xx"],
        f"{len(back)} ({retry} with Retry-After)" if back else 0,
        kinds["503 other"],
        kinds["other 5xx"],
        kinds["client error"],
        stats["p50_ms"],
        stats["p95_ms"],
        round(len(samples) / seconds, 2),
    ]


async def run(
    args: argparse.Namespace, url: str, corpus: Corpus, rng: random.Random
) -> dict[str, Any]:
    mode = "extractive" if args.extractive_only else "auto"
    stream_mode = "extractive" if args.extractive_only else "generative"
    load = Load(url, corpus, rng, mode)
    limits = httpx.Limits(max_connections=args.clients + 4)
    timeout = httpx.Timeout(args.request_timeout, connect=5.0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        t0 = time.monotonic()
        await preload(client, corpus.preload, load.ledger)
        preload_s = time.monotonic() - t0
        print(f"preloaded {len(corpus.preload)} documents in {preload_s:.1f} s", flush=True)
        await client.post("/ask", json={"question": corpus.questions[0], "mode": mode})  # warm

        print(f"phase 1: {args.clients} clients for {args.seconds:.0f} s", flush=True)
        t0 = time.monotonic()
        deadline = t0 + args.seconds
        tasks = [asyncio.create_task(load.client(client, c, deadline)) for c in range(args.clients)]
        _, late = await asyncio.wait(tasks, timeout=args.seconds + args.request_timeout + 30)
        for t in late:
            t.cancel()
        phase1_s = time.monotonic() - t0
        print(f"phase 1 done in {phase1_s:.1f} s; checking documents", flush=True)
        lost = await check_lost(client, load.ledger)

        print(f"phase 2: /search alone for {args.baseline_seconds:.0f} s", flush=True)
        alone = await search_loop(load, client, time.monotonic() + args.baseline_seconds)
        print(
            f"phase 3: /search while /ask streams ({stream_mode}) for {args.stream_seconds:.0f} s",
            flush=True,
        )
        deadline = time.monotonic() + args.stream_seconds
        together, streams = await asyncio.wait_for(
            asyncio.gather(
                search_loop(load, client, deadline),
                stream_loop(load, client, deadline, stream_mode),
            ),
            timeout=args.stream_seconds + args.request_timeout + 30,
        )
    return {
        "load": load,
        "preload_s": preload_s,
        "phase1_s": phase1_s,
        "lost": lost,
        "alone": alone,
        "together": together,
        "streams": streams,
        "ask_mode": mode,
        "stream_mode": stream_mode,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--extractive-only", action="store_true", help="ask with mode extractive")
    ap.add_argument("--baseline-seconds", type=float, default=10, help="/search alone")
    ap.add_argument("--stream-seconds", type=float, default=20, help="/search while /ask streams")
    ap.add_argument("--request-timeout", type=float, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the data directory and log")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    corpus = load_corpus(rng)
    work_dir = Path(tempfile.mkdtemp(prefix="qa-load-"))
    os.environ.pop("QA_GENERATOR", None)  # the default generator
    server = Server(work_dir / "data", work_dir, {"QA_LOG_LEVEL": "warning"})
    print(
        f"load test: corpus {corpus.source}; server `qa-service serve` with default settings "
        f"(generator on){'; asks in extractive mode' if args.extractive_only else ''}; "
        f"data in {work_dir}",
        flush=True,
    )
    t_start = time.monotonic()
    try:
        server.start()
        ready = server.wait_ready(timeout_s=600)
        print(f"server ready in {time.monotonic() - t_start:.1f} s: {ready['models']}", flush=True)
        out = asyncio.run(run(args, server.url, corpus, rng))
    except ServerError as e:
        print(f"FAILED: {e}")
        server.stop()
        return 1
    finally:
        problems = server.stop()
        for p in problems:
            print(f"shutdown problem: {p}")
    load: Load = out["load"]
    lost = out["lost"]

    headers = ["endpoint", "requests", "2xx", "4xx", "503 back-pressure", "503 other"]
    headers += ["other 5xx", "client errors", "p50 ms", "p95 ms", "req/s"]
    by_endpoint: dict[str, list[Sample]] = defaultdict(list)
    for s in load.samples:
        by_endpoint[s.endpoint].append(s)
    rows = [latency_row(e, by_endpoint[e], out["phase1_s"]) for e in sorted(by_endpoint)]
    rows.append(latency_row("**all**", load.samples, out["phase1_s"]))
    print(
        f"\n## {args.clients} clients, {out['phase1_s']:.0f} s, ask mode {out['ask_mode']} "
        f"(p50/p95 over 2xx responses)\n\n{cpu_line()}\n"
    )
    print(table(headers, rows))
    print(f"\n/ask groundings: {dict(load.groundings)}; fallbacks: {dict(load.fallbacks)}")
    by_problem = Counter(
        f"{s.endpoint} {s.status} {s.problem}" for s in load.samples if s.status >= 500
    )
    if by_problem:
        print(f"5xx by problem type: {dict(by_problem)}")
    n_lost = len(lost["lost"]) + len(lost["wrong_text"])
    print(
        f"\nlost documents: {n_lost} of {lost['acknowledged']} acknowledged "
        f"(missing {lost['lost'][:5]}, wrong text {lost['wrong_text'][:5]}); /ready "
        f"{lost['ready']['documents']} documents, {lost['ready']['chunks']} chunks, index "
        f"{lost['ready']['index']} -> {'consistent' if lost['index_consistent'] else 'MISMATCH'}"
    )

    alone, together, streams = out["alone"], out["together"], out["streams"]
    ok_alone = [s.seconds for s in alone if s.status == 200]
    ok_together = [s.seconds for s in together if s.status == 200]
    first = [s["first_delta_s"] for s in streams if s["first_delta_s"] is not None]
    totals = [s["total_s"] for s in streams]
    resets = sum(s["events"].get("reset", 0) for s in streams)
    stream_errors = sum(s["events"].get("error", 0) for s in streams)
    stream_errors += sum(1 for s in streams if s["status"] != 200)
    print(f"\n## /search latency alone vs while /ask streams ({out['stream_mode']})\n")
    rows2 = [
        ["/search alone", len(alone), round(pct(ok_alone, 0.5) * 1000, 1),
         round(pct(ok_alone, 0.95) * 1000, 1), len(alone) - len(ok_alone)],
        ["/search while /ask streams", len(together), round(pct(ok_together, 0.5) * 1000, 1),
         round(pct(ok_together, 0.95) * 1000, 1), len(together) - len(ok_together)],
        [f"streamed /ask ({len(streams)}): first delta", len(first),
         round(pct(first, 0.5) * 1000, 1), round(pct(first, 0.95) * 1000, 1), stream_errors],
        ["streamed /ask: whole stream", len(totals), round(pct(totals, 0.5) * 1000, 1),
         round(pct(totals, 0.95) * 1000, 1), f"{resets} resets"],
    ]  # fmt: skip
    print(table(["measure", "n", "p50 ms", "p95 ms", "errors"], rows2))
    print(
        "\nNote: the machine is shared with other jobs during this run; latencies are noisy. "
        f"Total {time.monotonic() - t_start:.0f} s."
    )

    # 503s are the service asking to retry (back-pressure, or a document that changed while an
    # answer was checked): reported, not fatal; any other 5xx is a bug
    five_xx = [s for s in load.samples + alone + together if classify(s) == "other 5xx"]
    path = write_results(
        "load_test",
        {
            "config": vars(args),
            "corpus": out_corpus(corpus),
            "preload_s": round(out["preload_s"], 1),
            "phase1_s": round(out["phase1_s"], 1),
            "endpoints": {
                e: {
                    "requests": len(v),
                    "by_kind": dict(Counter(classify(s) for s in v)),
                    "by_status": dict(Counter(str(s.status) for s in v)),
                    **summary_ms([s.seconds for s in v if 200 <= s.status < 300]),
                }
                for e, v in by_endpoint.items()
            },
            "ask_groundings": dict(load.groundings),
            "ask_fallbacks": dict(load.fallbacks),
            "lost_documents": lost,
            "search_alone": summary_ms(ok_alone),
            "search_while_ask_streams": summary_ms(ok_together),
            "stream_mode": out["stream_mode"],
            "streamed_ask": {
                "requests": len(streams),
                "first_delta": summary_ms(first),
                "total": summary_ms(totals),
                "resets": resets,
                "errors": stream_errors,
            },
            "server_errors": load.errors[:50],
            "note": "shared machine: latencies are noisy",
        },
    )
    print(f"results: {path}")
    if load.errors:
        print("\nserver errors:")
        for line in load.errors[:20]:
            print(f"  - {line}")
    failed = n_lost > 0 or not lost["index_consistent"] or bool(five_xx)
    if not args.keep and not failed:
        remove_tree(work_dir)
    elif failed:
        print(f"FAILED (data and server log kept in {work_dir})")
    return 1 if failed else 0


def out_corpus(corpus: Corpus) -> dict[str, Any]:
    return {
        "source": corpus.source,
        "preloaded": len(corpus.preload),
        "pool": len(corpus.pool),
        "questions": len(corpus.questions),
    }


if __name__ == "__main__":
    sys.exit(main())
