"""The writers and the ledger: clients ingest, update and delete distinguishable articles
against the server, and the ledger records what was acknowledged and what was in flight."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import httpx

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
