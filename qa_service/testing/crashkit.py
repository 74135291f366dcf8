"""Crash-safety harness: kill a live ``qa-service serve`` with SIGKILL mid-ingest, then check it.

Shared by ``tests/e2e/test_crash.py`` (a few rounds) and ``scripts/crash_test.py`` (many). Each
round: clients ingest, update and delete documents against a server subprocess; after a random
delay the server's whole process group gets SIGKILL while requests are in flight; the server is
restarted on the same data directory and everything that was *acknowledged* (HTTP 200/204
received) must be there exactly as acknowledged, deletes must be gone, every document must be
complete (chunks > 0, searchable), and the derived indexes must match the database. Requests that
were in flight at the kill may or may not have landed, but all-or-nothing per request.

POSIX only (process groups, SIGKILL). Talks to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx

from qa_service.testing.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

#: What is done to the FAISS file before a restart: random bytes, removed, cut in half; or
#: random bytes in its metadata file (vectors.faiss.json).
Damage = Literal["corrupt", "delete", "truncate", "corrupt-meta"]


# --- the server subprocess --------------------------------------------------------------------
def cli_command(*args: str) -> list[str]:
    """``qa-service ARGS`` from the running interpreter's environment."""
    script = Path(sys.executable).parent / "qa-service"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from qa_service.cli.main import app; app()", *args]


def serve_command() -> list[str]:
    """``qa-service serve`` from the running interpreter's environment."""
    return cli_command("serve")


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``qa-service`` subprocess: this one's, plus ``extra``, with this
    checkout first on the import path (the installed package may be another checkout, e.g. when
    the tests run from a git worktree)."""
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


class ServerError(RuntimeError):
    pass


class Server:
    """One ``qa-service serve`` process in its own process group, on a fresh loopback port."""

    def __init__(self, data_dir: Path, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        self.log_path = log_dir / "server-0.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError("the server is already running")
        self.port = free_port()
        self.starts += 1
        self.log_path = self.log_dir / f"server-{self.starts}.log"
        env = process_env(self.extra_env)
        env.update(QA_DATA_DIR=str(self.data_dir), QA_PORT=str(self.port), QA_HOST=HOST)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                serve_command(),
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: SIGKILL reaches every child
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout_s: float = 180.0) -> dict[str, Any]:
        """Poll /ready until 200 (bounded); raise with the log tail if the process dies."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServerError(
                        f"the server exited with {self.proc.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    r = client.get(f"{self.url}/ready")
                    if r.json().get("status") == "failed":  # waiting will not help
                        raise ServerError(f"the server failed to start: {r.json().get('detail')}")
                    if r.status_code == 200:
                        body: dict[str, Any] = r.json()
                        # warm the embedder up: a fresh process's first embedding is slow
                        client.post(f"{self.url}/search", json={"query": "warm up", "top_k": 1})
                        return body
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise ServerError(f"the server was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")

    def kill9(self) -> list[str]:
        """SIGKILL the whole process group; returns problems (an orphan that survived)."""
        assert self.proc is not None
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        problems: list[str] = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            problems.append(f"server pid {pgid} still running 15 s after SIGKILL")
        problems += self._group_gone(pgid)
        return problems

    def stop(self, timeout_s: float = 40.0) -> list[str]:
        """SIGTERM (graceful: the FAISS file is saved), SIGKILL if it hangs."""
        if self.proc is None:
            return []
        pgid = self.proc.pid
        problems: list[str] = []
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                problems.append(f"server did not stop within {timeout_s:.0f} s of SIGTERM")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        problems += self._group_gone(pgid)
        return problems

    def _group_gone(self, pgid: int) -> list[str]:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            return [f"a process of group {pgid} survived the kill (orphan)"]
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((HOST, self.port)) == 0:
                return [f"port {self.port} still accepts connections after the kill"]
        return []


# --- realistic, distinguishable article text --------------------------------------------------
_SYLLABLES: tuple[str, ...] = ("bra", "dor", "kel", "vin", "mar", "tas", "lor", "quen", "zir")
_SYLLABLES += ("hal", "op", "run", "dex", "pav", "sil", "tor", "gan", "mev", "ulk", "rist")
_ENDINGS = ("vuk", "drox", "mak", "zul", "tov", "rik", "gard", "nax", "bor", "lint")
_PLACES = ("harbour", "river port", "old town", "rail yard", "university district", "airport")
_ORGS = ("city council", "port authority", "transport ministry", "water board", "health agency")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SENTENCES = (
    "Officials said the {place} would reopen on {day} after repairs costing {n} million euros.",
    "The {org} confirmed that {people} residents had been affected by the closure.",
    "Critics argued that the plan, first announced {n} months ago, had been poorly explained.",
    "Local traders reported a drop of {pct} percent in sales during the works.",
    "A spokesperson for the {org} declined to comment on the timetable.",
    "Engineers found cracks in {n} supporting pillars during an inspection in {month}.",
    "Opposition members called for an independent review of the contracts.",
    "Traffic was diverted through the {place} for most of the week.",
    "The regional governor said further funding would be requested next year.",
    "Residents gathered outside the {org} offices on {day} evening to demand answers.",
    "Weather forecasts warned of heavy rain that could delay the final stage.",
    "The contractor said {people} workers were on site around the clock.",
    "The café owner, Zoë Müller, said “we\u2019ll survive this” — though only just.",
    "Prices rose to €{n} a night at the hotels near the {place}, up {pct}% on last year.",
    "Émile Laurent, who runs a bakery nearby, said business was “down by half”.",
)
_MONTHS = ("January", "March", "May", "July", "September", "November")


def distinctive_word(rng: random.Random, used: set[str]) -> str:
    """A made-up proper name (letters only, one BM25 token) not used before."""
    for _ in range(10_000):
        w = "".join(rng.choice(_SYLLABLES) for _ in range(2)) + rng.choice(_ENDINGS)
        w = w.capitalize()
        if w not in used:
            used.add(w)
            return w
    raise RuntimeError("ran out of distinctive words")


def article(rng: random.Random, word: str, long: bool = False) -> tuple[str, str]:
    """(title, text) of a short news item that names ``word`` once, in its second sentence."""
    n = rng.randint(14, 24) if long else rng.randint(2, 7)

    def fill(s: str) -> str:
        return s.format(
            place=rng.choice(_PLACES),
            org=rng.choice(_ORGS),
            day=rng.choice(_DAYS),
            month=rng.choice(_MONTHS),
            n=rng.randint(2, 90),
            pct=rng.randint(5, 60),
            people=rng.randint(100, 9000),
        )

    body = [fill(rng.choice(_SENTENCES)) for _ in range(n)]
    body.insert(1, f"Mayor Elena {word} told reporters the decision was final.")
    place = rng.choice(_PLACES)
    title = f"{place.capitalize()} works: {rng.choice(_ORGS)} under pressure"
    return title, " ".join(body)


# --- the ledger of acknowledged state ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Version:
    text: str
    word: str
    title: str | None = None
    url: str | None = None


#: A document's state: its text (and searchable word), or None when absent / deleted.
State = Version | None


@dataclass(slots=True)
class Op:
    """One request: the documents it changes and their state if it lands."""

    group: int
    kind: Literal["ingest", "delete"]
    changes: dict[str, State]
    expect: dict[str, str] = field(default_factory=dict)  # ingest: id -> expected status


class Ledger:
    """Expected final state, from acknowledged requests only."""

    def __init__(self) -> None:
        self.acked: dict[str, State] = {}
        self.owner: dict[str, int] = {}
        #: id -> (group, state if the unacknowledged request landed)
        self.pending: dict[str, tuple[int, State]] = {}
        self.pending_groups: dict[int, Op] = {}
        self.touched: set[str] = set()  # ids acknowledged this round
        self.words: set[str] = set()
        self._next_group = 0

    def new_group(self) -> int:
        self._next_group += 1
        return self._next_group

    def present(self, owner: int | None = None) -> list[str]:
        return [
            i
            for i, s in self.acked.items()
            if s is not None and (owner is None or self.owner.get(i) == owner)
        ]

    def deleted(self, owner: int) -> list[str]:
        return [i for i, s in self.acked.items() if s is None and self.owner.get(i) == owner]

    def commit(self, op: Op) -> None:
        for doc_id, state in op.changes.items():
            self.acked[doc_id] = state
            self.touched.add(doc_id)

    def leave_pending(self, op: Op) -> None:
        self.pending_groups[op.group] = op
        for doc_id, state in op.changes.items():
            self.pending[doc_id] = (op.group, state)
            self.acked.setdefault(doc_id, None)


# --- one round's workload ---------------------------------------------------------------------
@dataclass
class RoundStats:
    round: int
    damage: str = ""
    kill: str = ""  # when the kill came: "after 1.23 s", or "at commit" (right after one)
    requests_acked: int = 0
    docs_acked: int = 0  # documents written by acknowledged ingests (creates + updates)
    deletes_acked: int = 0
    in_flight_at_kill: int = 0
    pending_docs: int = 0
    pending_landed: int = 0
    checked: int = 0
    searched: int = 0
    restart_s: float = 0.0
    failures: list[str] = field(default_factory=list)


class Workload:
    """Clients that write through one server until told to stop (or the server dies)."""

    def __init__(
        self, url: str, ledger: Ledger, rng: random.Random, stats: RoundStats, workers: int
    ) -> None:
        self.url = url
        self.ledger = ledger
        self.rng = rng
        self.stats = stats
        self.workers = workers
        self.in_flight = 0
        self.stop = asyncio.Event()
        self._counter = 0

    def _new_id(self, wid: int) -> str:
        self._counter += 1
        return f"r{self.stats.round:02d}-w{wid}-{self._counter:04d}"

    def _version(self) -> Version:
        word = distinctive_word(self.rng, self.ledger.words)
        title, text = article(self.rng, word, long=self.rng.random() < 0.2)
        return Version(text, word, title if self.rng.random() < 0.7 else None, self._url())

    def _url(self) -> str | None:
        return (
            f"https://news.example/{self.rng.randrange(10**9)}" if self.rng.random() < 0.5 else None
        )

    def _metadata_change(self, v: Version) -> Version:
        """Same text, another url (chunks kept) or another title (re-embedded)."""
        if self.rng.random() < 0.5:
            return replace(v, url=f"https://news.example/{self.rng.randrange(10**9)}")
        return replace(v, title=f"Update {self.rng.randrange(10**6)}: {v.title or 'news'}")

    def _plan(self, wid: int) -> Op:
        rng, ledger = self.rng, self.ledger
        group = ledger.new_group()
        mine = ledger.present(wid)
        roll = rng.random()
        if mine and roll < 0.15:
            return Op(group, "delete", {rng.choice(mine): None})
        changes: dict[str, State] = {}
        expect: dict[str, str] = {}
        if mine and roll < 0.20:  # re-post unchanged
            doc_id = rng.choice(mine)
            changes[doc_id] = ledger.acked[doc_id]
            expect[doc_id] = "unchanged"
            return Op(group, "ingest", changes, expect)
        gone = ledger.deleted(wid)
        if gone and roll < 0.25:  # re-create a deleted id
            doc_id = rng.choice(gone)
            changes[doc_id] = self._version()
            expect[doc_id] = "created"
        if mine and roll < 0.45:  # updates (with new documents now and then)
            for doc_id in rng.sample(mine, min(len(mine), rng.randint(1, 3))):
                old = ledger.acked[doc_id]
                assert old is not None
                meta_only = roll < 0.32
                changes[doc_id] = self._metadata_change(old) if meta_only else self._version()
                expect[doc_id] = "updated"
            new = rng.randint(0, 2)
        else:
            new = rng.randint(1, 5) - len(changes)
        for _ in range(max(0, new)):
            doc_id = self._new_id(wid)
            ledger.owner[doc_id] = wid
            changes[doc_id] = self._version()
            expect[doc_id] = "created"
        return Op(group, "ingest", changes, expect)

    def _check_ingest(self, op: Op, body: dict[str, Any]) -> None:
        got = {d["id"]: (d["status"], d["chunks"]) for d in body.get("documents", [])}
        for doc_id, status in op.expect.items():
            if doc_id not in got:
                self.stats.failures.append(f"ingest response lacks {doc_id}: {body}")
                continue
            if got[doc_id][0] != status:
                self.stats.failures.append(
                    f"ingest of {doc_id}: status {got[doc_id][0]!r}, expected {status!r}"
                )
            if got[doc_id][1] <= 0:
                self.stats.failures.append(f"ingest of {doc_id}: {got[doc_id][1]} chunks")

    async def _worker(self, wid: int, client: httpx.AsyncClient) -> None:
        for _ in range(100_000):  # bounded; normally ends at the kill
            if self.stop.is_set():
                return
            op = self._plan(wid)
            self.in_flight += 1
            try:
                if op.kind == "delete":
                    (doc_id,) = op.changes
                    r = await client.delete(f"{self.url}/documents/{doc_id}")
                else:
                    docs = []
                    for doc_id, v in op.changes.items():
                        assert v is not None
                        doc: dict[str, Any] = {"id": doc_id, "text": v.text}
                        if v.title:
                            doc["title"] = v.title
                        if v.url:
                            doc["url"] = v.url
                        docs.append(doc)
                    r = await client.post(f"{self.url}/documents", json={"documents": docs})
            except httpx.ConnectError:
                # refused: the request never reached a server, so nothing of it may land
                for doc_id in op.changes:
                    self.ledger.acked.setdefault(doc_id, None)
                return
            except httpx.TransportError:
                self.ledger.leave_pending(op)  # in flight at the kill: may or may not land
                return
            finally:
                self.in_flight -= 1
            ok = r.status_code == (204 if op.kind == "delete" else 200)
            if not ok:
                self.stats.failures.append(
                    f"{op.kind} {sorted(op.changes)} answered {r.status_code}: {r.text[:300]}"
                )
                return
            self.ledger.commit(op)
            self.stats.requests_acked += 1
            if op.kind == "delete":
                self.stats.deletes_acked += 1
            else:
                self._check_ingest(op, r.json())
                self.stats.docs_acked += sum(1 for s in op.expect.values() if s != "unchanged")

    async def run_until_kill(
        self,
        delay_s: float,
        kill: Callable[[], list[str]],
        db_path: Path | None = None,
        after_acks: int = 0,
    ) -> None:
        """Write until ``delay_s`` has passed, then kill; with ``db_path``, kill right after the
        next commit the server makes to it (so that commits land without a response). With
        ``after_acks``, the delay starts once that many requests were acknowledged (at most
        60 s later): on a slow machine the first writes can take longer than the delay."""
        timeout = httpx.Timeout(60.0, connect=5.0)
        async with httpx.AsyncClient(timeout=timeout) as client:
            tasks = [asyncio.create_task(self._worker(w, client)) for w in range(self.workers)]
            deadline = time.monotonic() + 60.0
            while self.stats.requests_acked < after_acks and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(delay_s)
            self.stats.kill = f"after {delay_s:.2f} s"
            if db_path is not None:
                found = await next_commit(db_path)
                self.stats.kill = "at commit" if found else "at 5 s (no commit)"
            self.stats.in_flight_at_kill = self.in_flight
            self.stats.failures += kill()
            self.stop.set()
            done, not_done = await asyncio.wait(tasks, timeout=60)
            for t in not_done:
                t.cancel()
                self.stats.failures.append("a client did not stop within 60 s of the kill")
            for t in done:
                if t.exception() is not None:
                    self.stats.failures.append(f"client crashed: {t.exception()!r}")


async def next_commit(db_path: Path, timeout_s: float = 5.0) -> bool:
    """Wait (bounded) until another connection commits to the database; True if one did."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1.0)
    try:
        start = conn.execute("PRAGMA data_version").fetchone()[0]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if conn.execute("PRAGMA data_version").fetchone()[0] != start:
                return True
            await asyncio.sleep(0.001)
        return False
    finally:
        conn.close()


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


# --- the whole test ---------------------------------------------------------------------------
@dataclass
class CrashConfig:
    rounds: int = 25
    workers: int = 3
    kill_delay_s: tuple[float, float] = (0.2, 3.0)
    #: Acknowledged requests each round waits for before its kill delay starts (0: none).
    kill_after_acks: int = 0
    sample: int = 20
    seed: int | None = None
    damage: dict[int, Damage] = field(default_factory=dict)
    #: Rounds whose kill comes right after a commit (after the random delay) instead of at it.
    kill_at_commit: set[int] = field(default_factory=set)
    env: dict[str, str] = field(default_factory=lambda: {"QA_GENERATOR": "none"})
    ready_timeout_s: float = 180.0
    #: Servers for odd rounds save the FAISS file after every write (QA_INDEX_SAVE_INTERVAL_S=0),
    #: so kills also hit saves; even rounds keep the default (a stale file to catch up from).
    alternate_save_interval: bool = True


@dataclass
class CrashReport:
    seed: int
    rounds: list[RoundStats]
    failures: list[str]
    seconds: float
    work_dir: Path

    @property
    def total_acked_docs(self) -> int:
        return sum(r.docs_acked for r in self.rounds)


def default_damage(rounds: int) -> dict[int, Damage]:
    """Which rounds damage the FAISS file before their restart."""
    if rounds >= 8:
        kinds: list[Damage] = ["corrupt", "delete", "truncate", "corrupt-meta"]
        return {(i + 1) * rounds // 5: kind for i, kind in enumerate(kinds)}
    if rounds >= 6:
        return {rounds // 4: "corrupt", rounds // 2: "delete", 3 * rounds // 4: "truncate"}
    if rounds >= 2:
        return {rounds - 1: "corrupt", rounds: "delete"}
    return {1: "corrupt"} if rounds == 1 else {}


def run_crash_test(
    config: CrashConfig,
    work_dir: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> CrashReport:
    """Run the rounds; the server is always stopped and no process is left behind."""
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    data_dir = work_dir / "data"
    log_dir = work_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = Server(data_dir, log_dir, config.env)
    ledger = Ledger()
    rounds: list[RoundStats] = []
    failures: list[str] = []
    t0 = time.monotonic()

    def start(next_round: int) -> None:
        if config.alternate_save_interval and next_round % 2 == 1:
            server.extra_env["QA_INDEX_SAVE_INTERVAL_S"] = "0"
        else:
            server.extra_env.pop("QA_INDEX_SAVE_INTERVAL_S", None)
        server.start()
        server.wait_ready(config.ready_timeout_s)

    try:
        start(1)
        for n in range(1, config.rounds + 1):
            how = config.damage.get(n)
            stats = RoundStats(round=n, damage=how or "")
            rounds.append(stats)
            delay = rng.uniform(*config.kill_delay_s)
            work = Workload(server.url, ledger, rng, stats, config.workers)
            at_commit = data_dir / "qa.sqlite3" if n in config.kill_at_commit else None
            asyncio.run(work.run_until_kill(delay, server.kill9, at_commit, config.kill_after_acks))
            stats.failures += log_errors(server.log_path)
            written = None
            if how is not None:
                written = damage_index(data_dir, how, rng)
            t_restart = time.monotonic()
            start(n + 1)
            stats.restart_s = time.monotonic() - t_restart
            if how is not None:
                stats.failures += check_rebuilt(data_dir, how, written)
            asyncio.run(verify(server.url, ledger, stats, rng, config.sample))
            failures += [f"round {n}: {f}" for f in stats.failures]
            progress(
                f"round {n}/{config.rounds}: killed ({stats.kill}) with "
                f"{stats.in_flight_at_kill} requests in flight; {stats.docs_acked} docs and "
                f"{stats.deletes_acked} deletes acknowledged; {stats.pending_docs} docs in "
                f"flight, {stats.pending_landed} landed; {stats.checked} checked, "
                f"{stats.searched} searched{'; index ' + stats.damage if stats.damage else ''}; "
                f"restart {stats.restart_s:.1f} s; {len(stats.failures)} failures"
            )
    except ServerError as e:
        failures.append(str(e))
    finally:
        problems = server.stop()
        failures += [f"shutdown: {p}" for p in problems]
        failures += log_errors(server.log_path)
    return CrashReport(seed, rounds, failures, time.monotonic() - t0, work_dir)


def log_errors(log_path: Path) -> list[str]:
    """Tracebacks and ERROR lines the server logged (a kill -9 itself logs nothing)."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    markers = (" ERROR ", " CRITICAL ", '"level": "error"', '"level": "critical"', "Traceback")
    bad = [ln for ln in lines if any(m in ln for m in markers)]
    return [f"server log {log_path.name}: {ln[:300]}" for ln in bad[:5]]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
