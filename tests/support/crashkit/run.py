"""The whole test: rounds of write, kill, (damage,) restart and verify."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .server import Server, ServerError, log_errors
from .verify import Damage, check_rebuilt, damage_index, verify
from .workload import Ledger, RoundStats, Workload


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
