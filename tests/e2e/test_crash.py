"""Crash safety: SIGKILL a live server mid-ingest; every acknowledged write survives the restart.

A few rounds of ``tests/support/crashkit/`` (``scripts/ops/crash_test.py`` runs many):
clients ingest, update and delete through ``qa-service serve`` (QA_GENERATOR=none), the process
group is killed with SIGKILL while requests are in flight (in round 1 right after a commit, so
that a write lands without its response), and the restarted server must hold exactly what was
acknowledged, with complete, searchable documents and indexes that match the database. Round 2
also corrupts the FAISS file and round 3 deletes it before the restart: both must be rebuilt.
"""

from __future__ import annotations

import importlib.util
import os
import signal

import pytest

from tests.support.crashkit import CrashConfig, run_crash_test

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        os.name != "posix" or not hasattr(os, "killpg") or not hasattr(signal, "SIGKILL"),
        reason="kill -9 crash tests need POSIX process groups and SIGKILL",
    ),
]


def test_acknowledged_writes_survive_sigkill_and_a_damaged_index(tmp_path):
    config = CrashConfig(
        rounds=3,
        workers=3,
        kill_delay_s=(0.3, 1.5),
        kill_after_acks=1,  # a loaded machine can take longer than the delay to ack a first write
        sample=10,
        damage={2: "corrupt", 3: "delete"},
        kill_at_commit={1},
    )
    report = run_crash_test(config, tmp_path)
    context = f"seed {report.seed}; server logs in {tmp_path / 'logs'}"
    assert not report.failures, context + "\n" + "\n".join(report.failures)
    assert len(report.rounds) == 3, context
    assert report.total_acked_docs > 0, "no write was acknowledged before the kills; " + context
    assert sum(r.searched for r in report.rounds) > 0, context


@pytest.mark.skipif(
    importlib.util.find_spec("milvus_lite") is None, reason="milvus-lite is not installed"
)
def test_milvus_acknowledged_writes_survive_sigkill_and_the_restart(tmp_path):
    """The same with ``QA_VECTOR_STORE=milvus`` (a Milvus Lite file): each restart reopens the
    collections the killed server left (issue #14), and every acknowledged write is there."""
    config = CrashConfig(
        rounds=2,
        workers=3,
        kill_delay_s=(0.5, 2.0),
        kill_after_acks=1,
        sample=10,
        damage={},
        env={"QA_GENERATOR": "none", "QA_VECTOR_STORE": "milvus"},
        alternate_save_interval=False,
    )
    report = run_crash_test(config, tmp_path)
    context = f"seed {report.seed}; server logs in {tmp_path / 'logs'}"
    assert not report.failures, context + "\n" + "\n".join(report.failures)
    assert len(report.rounds) == 2, context
    assert report.total_acked_docs > 0, "no write was acknowledged before the kills; " + context
    assert sum(r.searched for r in report.rounds) > 0, context
