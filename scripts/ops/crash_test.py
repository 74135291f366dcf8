"""Crash safety under kill -9: acknowledged writes survive, indexes rebuild, nothing is half done.

Starts ``qa-service serve`` as a subprocess (QA_GENERATOR=none: ingest and search only) on a
temporary data directory and a free loopback port. Each round, three clients ingest small
batches (1-5 documents, unique ids, sometimes updates of an existing id, sometimes deletes)
and record every acknowledged outcome; after a random 0.2-3 s, while requests are in flight,
the server's process group gets SIGKILL (every fourth round: right after the next commit after
that delay, so that writes land without their response); it is restarted on the same data
directory and checked:

- every acknowledged document is there with exactly the acknowledged text; acknowledged deletes
  are 404; a request that was in flight at the kill landed whole or not at all;
- every document has chunks; the listing and /ready agree with the ledger; /ready's
  ``index.vectors`` and ``index.keyword_chunks`` equal ``chunks`` (within 30 s);
- a search for a distinctive word of each of up to 20 documents per round (and every in-flight
  document that landed), filtered to that document, finds it in both the vector and the BM25
  index, and every result slices back from the document;
- in four rounds the FAISS file is overwritten with random bytes, deleted, or truncated, or its
  metadata file (vectors.faiss.json) overwritten, before the restart; it must be rebuilt.

Servers for odd rounds save the FAISS file after every write (QA_INDEX_SAVE_INTERVAL_S=0), so
kills also land in the middle of saves; the others keep the default 30 s, so each restart has a
stale file to catch up from.

    .venv/bin/python -m scripts.ops.crash_test           # 25 rounds, about 7-8 minutes on 2 cores
    .venv/bin/python -m scripts.ops.crash_test --rounds 5 --seed 7

Prints a table and writes bench/results/crash_test.json; exits 1 on any failure (the data
directory and server logs are then kept). POSIX only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from scripts.common import table, write_results
from tests.support.crashkit import CrashConfig, default_damage, remove_tree, run_crash_test


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--workers", type=int, default=3, help="concurrent writing clients")
    ap.add_argument("--sample", type=int, default=20, help="documents searched per round")
    ap.add_argument("--min-delay", type=float, default=0.2, help="earliest kill, seconds")
    ap.add_argument("--max-delay", type=float, default=3.0, help="latest kill, seconds")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the data directory and logs")
    args = ap.parse_args()
    if os.name != "posix":
        print("crash_test needs POSIX process groups and SIGKILL; skipped.")
        return 0

    work_dir = Path(tempfile.mkdtemp(prefix="qa-crash-"))
    config = CrashConfig(
        rounds=args.rounds,
        workers=args.workers,
        kill_delay_s=(args.min_delay, args.max_delay),
        sample=args.sample,
        seed=args.seed,
        damage=default_damage(args.rounds),
        kill_at_commit=set(range(4, args.rounds + 1, 4)),
    )
    print(
        f"crash test: {args.rounds} rounds, {args.workers} clients, kill after "
        f"{args.min_delay}-{args.max_delay} s; server `qa-service serve` with QA_GENERATOR=none "
        f"(no generator: ingest and search only); data in {work_dir}"
    )
    damage = ", ".join(f"round {r}: {how}" for r, how in sorted(config.damage.items()))
    print(f"FAISS file damaged before the restart in {damage or 'no round'}")
    commit = ", ".join(str(r) for r in sorted(config.kill_at_commit)) or "none"
    print(f"rounds killed right after a commit (after the random delay): {commit}")
    print("odd rounds: QA_INDEX_SAVE_INTERVAL_S=0 (FAISS saved after every write)")
    report = run_crash_test(config, work_dir, progress=lambda line: print(line, flush=True))

    rows = [
        [
            r.round,
            r.kill,
            r.damage or "-",
            r.in_flight_at_kill,
            r.docs_acked,
            r.deletes_acked,
            r.pending_docs,
            r.pending_landed,
            r.checked,
            r.searched,
            round(r.restart_s, 1),
            len(r.failures),
        ]
        for r in report.rounds
    ]
    rounds = report.rounds
    rows.append(
        [
            f"**{len(rounds)} rounds**",
            f"{sum(1 for r in rounds if r.kill == 'at commit')} at commit",
            f"{sum(1 for r in rounds if r.damage)} damaged",
            sum(r.in_flight_at_kill for r in rounds),
            sum(r.docs_acked for r in rounds),
            sum(r.deletes_acked for r in rounds),
            sum(r.pending_docs for r in rounds),
            sum(r.pending_landed for r in rounds),
            rounds[-1].checked if rounds else 0,
            sum(r.searched for r in rounds),
            round(sum(r.restart_s for r in rounds) / max(1, len(rounds)), 1),
            len(report.failures),
        ]
    )
    headers = [
        "round",
        "kill",
        "index damage",
        "in flight at kill",
        "docs acknowledged",
        "deletes acknowledged",
        "docs in flight",
        "of which landed",
        "docs checked (all so far)",
        "docs searched",
        "restart s",
        "failures",
    ]
    print()
    print(table(headers, rows))
    print(
        f"\nseed {report.seed}; {report.seconds:.0f} s in all (the machine may be shared: "
        "restart times are noisy)"
    )
    path = write_results(
        "crash_test",
        {
            "seed": report.seed,
            "config": {
                "rounds": args.rounds,
                "workers": args.workers,
                "kill_delay_s": [args.min_delay, args.max_delay],
                "sample": args.sample,
                "damage": {str(k): v for k, v in config.damage.items()},
                "kill_at_commit": sorted(config.kill_at_commit),
                "server_env": config.env,
            },
            "seconds": round(report.seconds, 1),
            "rounds": [
                {k: v for k, v in vars(r).items() if k != "failures"}
                | {"failures": len(r.failures)}
                for r in rounds
            ],
            "totals": {
                "rounds": len(rounds),
                "docs_acknowledged": sum(r.docs_acked for r in rounds),
                "deletes_acknowledged": sum(r.deletes_acked for r in rounds),
                "docs_checked_last_round": rounds[-1].checked if rounds else 0,
                "docs_in_flight_at_kills": sum(r.pending_docs for r in rounds),
                "docs_in_flight_that_landed": sum(r.pending_landed for r in rounds),
                "docs_searched": sum(r.searched for r in rounds),
            },
            "failures": report.failures,
        },
    )
    print(f"results: {path}")
    if report.failures:
        print(f"\n{len(report.failures)} FAILURES (data and server logs kept in {work_dir}):")
        for f in report.failures:
            print(f"  - {f}")
        return 1
    print("\nno failures: every acknowledged write survived every kill")
    if not args.keep:
        remove_tree(work_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
