"""Crash-safety harness: kill a live ``qa-service serve`` with SIGKILL mid-ingest, then check it.

Shared by ``tests/e2e/test_crash.py`` (a few rounds) and ``scripts/ops/crash_test.py`` (many). Each
round: clients ingest, update and delete documents against a server subprocess; after a random
delay the server's whole process group gets SIGKILL while requests are in flight; the server is
restarted on the same data directory and everything that was *acknowledged* (HTTP 200/204
received) must be there exactly as acknowledged, deletes must be gone, every document must be
complete (chunks > 0, searchable), and the derived indexes must match the database. Requests that
were in flight at the kill may or may not have landed, but all-or-nothing per request.

POSIX only (process groups, SIGKILL). Talks to 127.0.0.1 only; every loop is bounded.

Modules: ``server`` (the process under test), ``workload`` (the writers and the ledger),
``verify`` (checks after a restart, damage to the index) and ``run`` (the rounds).
"""

from .run import CrashConfig, CrashReport, default_damage, run_crash_test
from .server import ROOT, Server, ServerError, cli_command, log_errors, process_env, remove_tree
from .verify import Damage

__all__ = [
    "ROOT",
    "CrashConfig",
    "CrashReport",
    "Damage",
    "Server",
    "ServerError",
    "cli_command",
    "default_damage",
    "log_errors",
    "process_env",
    "remove_tree",
    "run_crash_test",
]
