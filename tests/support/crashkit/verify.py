"""Checks after a restart (the server against the ledger) and damage to the derived index."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any, Literal

import httpx

from .workload import Ledger, RoundStats, State

#: What is done to the FAISS file before a restart: random bytes, removed, cut in half; or
#: random bytes in its metadata file (vectors.faiss.json).
Damage = Literal["corrupt", "delete", "truncate", "corrupt-meta"]


# --- verification after a restart -------------------------------------------------------------
async def wait_indexes(client: httpx.AsyncClient, url: str, timeout_s: float) -> dict[str, Any]:
    """/ready until vectors == keyword_chunks == chunks (background BM25 rebuilds), bounded."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while True:
        r = await client.get(f"{url}/ready")
        body = r.json()
        idx = body.get("index") or {}
        chunks = body.get("chunks")
        if r.status_code == 200 and idx.get("vectors") == chunks == idx.get("keyword_chunks"):
            return body
        if time.monotonic() >= deadline:
            return body
        await asyncio.sleep(0.5)


async def _gather_limited(coros: list[Any], limit: int = 4) -> list[Any]:
    sem = asyncio.Semaphore(limit)

    async def one(c: Any) -> Any:
        async with sem:
            return await c

    return await asyncio.gather(*(one(c) for c in coros))


async def verify(
    url: str, ledger: Ledger, stats: RoundStats, rng: random.Random, sample: int = 20
) -> None:
    """Compare the restarted server with the ledger; resolves what was pending."""
    fail = stats.failures.append
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0)) as client:
        ready = await wait_indexes(client, url, timeout_s=30)
        idx = ready.get("index") or {}
        if not (idx.get("vectors") == ready.get("chunks") == idx.get("keyword_chunks")):
            fail(f"/ready after restart: chunks={ready.get('chunks')} index={idx} (30 s waited)")

        # 1. every document of the ledger, acknowledged or in flight at the kill
        ids = sorted(ledger.acked)
        responses = await _gather_limited([client.get(f"{url}/documents/{i}") for i in ids])
        observed: dict[str, State] = {}
        chunk_counts: dict[str, int] = {}
        for doc_id, r in zip(ids, responses, strict=True):
            options: list[State] = [ledger.acked[doc_id]]
            if doc_id in ledger.pending:
                options.append(ledger.pending[doc_id][1])
            if r.status_code == 404:
                if None not in options:
                    fail(f"{doc_id}: acknowledged but missing after the restart (404)")
                observed[doc_id] = None
                continue
            if r.status_code != 200:
                fail(f"GET /documents/{doc_id}: {r.status_code} {r.text[:200]}")
                continue
            body = r.json()
            got = (body["text"], body["title"], body["url"])
            match = next(
                (v for v in options if v is not None and (v.text, v.title, v.url) == got), None
            )
            if match is None:
                acked = ledger.acked[doc_id]
                if acked is None:
                    fail(f"{doc_id}: exists, but its acknowledged state is deleted/absent")
                elif not any(v is not None and v.text == body["text"] for v in options):
                    fail(f"{doc_id}: exists with a text that was never acknowledged")
                else:
                    fail(
                        f"{doc_id}: title/url {got[1:]!r}, expected one of "
                        f"{[(v.title, v.url) for v in options if v is not None]}"
                    )
                continue
            observed[doc_id] = match
            chunk_counts[doc_id] = body["chunks"]
            if body["chunks"] <= 0:
                fail(f"{doc_id}: stored with {body['chunks']} chunks")
        stats.checked = len(ids)

        # 2. an unacknowledged request landed whole or not at all
        stats.pending_docs = len(ledger.pending)
        for group, op in ledger.pending_groups.items():
            branches = set()
            for doc_id, new in op.changes.items():
                old = ledger.acked[doc_id]
                if doc_id not in observed or old == new:
                    continue
                branches.add("landed" if observed[doc_id] == new else "not landed")
            if len(branches) > 1:
                fail(f"request {group} ({op.kind} {sorted(op.changes)}) landed only in part")
            if branches == {"landed"}:
                stats.pending_landed += len(op.changes)
        must_search = {i for i in ledger.pending if observed.get(i) is not None}
        for doc_id, state in observed.items():
            ledger.acked[doc_id] = state
        ledger.pending.clear()
        ledger.pending_groups.clear()

        # 3. the listing: nothing unknown, no empty document, chunk counts add up
        listed: dict[str, int] = {}
        offset: int | None = 0
        for _ in range(10_000):
            if offset is None:
                break
            r = await client.get(f"{url}/documents", params={"limit": 1000, "offset": offset})
            if r.status_code != 200:
                fail(f"GET /documents: {r.status_code}")
                break
            page = r.json()
            listed.update((d["id"], d["chunks"]) for d in page["documents"])
            offset = page["next_offset"]
        expected_present = {i for i, s in ledger.acked.items() if s is not None}
        if set(listed) != expected_present:
            extra = sorted(set(listed) - expected_present)[:5]
            missing = sorted(expected_present - set(listed))[:5]
            fail(f"listing differs from the ledger: extra {extra}, missing {missing}")
        empty = sorted(i for i, n in listed.items() if n <= 0)
        if empty:
            fail(f"documents with 0 chunks: {empty[:10]}")
        final = (await client.get(f"{url}/ready")).json()
        if sum(listed.values()) != final.get("chunks"):
            fail(f"listed chunks add up to {sum(listed.values())}, /ready says {final['chunks']}")
        if final.get("documents") != len(listed):
            fail(f"/ready documents={final.get('documents')}, listing has {len(listed)}")

        # 4. search: documents in flight at the kill that landed, then a sample
        touched = sorted(i for i in ledger.touched if i in expected_present)
        others = sorted(expected_present - set(touched))
        rng.shuffle(touched)
        rng.shuffle(others)
        picks = sorted(must_search) + [i for i in touched + others if i not in must_search]
        picks = picks[: max(sample, len(must_search))]
        results = await _gather_limited([_search_one(client, url, i, ledger) for i in picks])
        for problem in results:
            if problem:
                fail(problem)
        stats.searched = len(picks)
        ledger.touched.clear()


async def _search_one(client: httpx.AsyncClient, url: str, doc_id: str, ledger: Ledger) -> str:
    v = ledger.acked[doc_id]
    assert v is not None
    body = {"query": v.word, "top_k": 5, "filters": {"doc_ids": [doc_id]}}
    r = await client.post(f"{url}/search", json=body)
    if r.status_code != 200:
        return f"search for {doc_id}: {r.status_code} {r.text[:200]}"
    hits = r.json()["results"]
    if not hits:
        return f"search for {v.word!r} in {doc_id}: no result"
    for h in hits:
        if h["doc_id"] != doc_id or v.text[h["start"] : h["end"]] != h["text"]:
            return f"search for {doc_id}: a result does not slice back from the document: {h}"
    if not any(h["dense_score"] is not None for h in hits):
        return f"search for {doc_id}: no result from the vector index (FAISS lacks its chunks)"
    word = v.word.lower()
    if not any(h["keyword_score"] is not None and word in h["text"].lower() for h in hits):
        return f"search for {v.word!r} in {doc_id}: BM25 does not find the chunk naming it"
    return ""


# --- damage to the derived index --------------------------------------------------------------
def _damaged_file(data_dir: Path, how: Damage) -> Path:
    name = "vectors.faiss.json" if how == "corrupt-meta" else "vectors.faiss"
    return data_dir / name


def damage_index(data_dir: Path, how: Damage, rng: random.Random) -> bytes | None:
    """Damage the FAISS file (or its metadata) while the server is down; returns what was
    written (None: deleted)."""
    path = _damaged_file(data_dir, how)
    if how == "delete":
        path.unlink(missing_ok=True)
        return None
    size = path.stat().st_size if path.exists() else 4096
    if how == "truncate":
        data = path.read_bytes()[: max(1, size // 2)]
    else:
        data = bytes(rng.getrandbits(8) for _ in range(max(size, 64)))
    path.write_bytes(data)
    return data


def check_rebuilt(data_dir: Path, how: Damage, written: bytes | None) -> list[str]:
    """After the restart, the damaged file has been written anew."""
    path = _damaged_file(data_dir, how)
    if not path.exists():
        return [f"{path.name} was not rebuilt at start"]
    if written is not None and path.read_bytes() == written:
        return [f"{path.name} still holds the damaged bytes after the restart"]
    return []
