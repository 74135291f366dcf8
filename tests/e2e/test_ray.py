"""Two Ray Serve replicas share one Milvus: a write through one is found through every other."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT
from tests.support.live_server import free_port, wait_ready

pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(
        importlib.util.find_spec("ray") is None or importlib.util.find_spec("milvus_lite") is None,
        reason="needs ray[serve] and milvus-lite (pip install 'qa-service[ray]')",
    ),
]
BIN = Path(sys.executable).parent


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_two_replicas_see_each_others_writes(tmp_path, seed_text):
    milvus_port, http_port = free_port(), free_port()
    milvus = subprocess.Popen(
        [BIN / "milvus-lite", "server", "--data-dir", str(tmp_path / "milvus"),
         "--host", "127.0.0.1", "--port", str(milvus_port)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        **os.environ,
        "QA_VECTOR_STORE": "milvus",
        "QA_MILVUS_URI": f"http://127.0.0.1:{milvus_port}",
        "QA_GENERATOR": "none",
        "QA_DATA_DIR": str(tmp_path / "data"),
        "QA_PORT": str(http_port),
        "QA_MODELS_DIR": str(ROOT / "models"),
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [BIN / "qa-service", "serve", "--ray", "--replicas", "2", "--cpus-per-replica", "0.5"],
        env=env, start_new_session=True, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{http_port}"
    try:
        wait_ready(url, 300)
        doc = {"id": "syria", "title": "Syria", "text": seed_text}
        assert (
            httpx.post(f"{url}/documents", json={"documents": [doc]}, timeout=120).status_code
            == 200
        )
        served_by: set[str] = set()
        deadline = time.monotonic() + 120
        n = 0
        while (len(served_by) < 2 or n < 10) and time.monotonic() < deadline:
            r = httpx.post(f"{url}/search", json={"query": "Assad precondition Turkey"}, timeout=60)
            assert r.status_code == 200
            assert r.json()["results"][0]["doc_id"] == "syria"  # every replica finds it
            served_by.add(r.headers["x-served-by"])
            n += 1
        assert len(served_by) == 2, served_by
    finally:
        stop(serve)
        stop(milvus, signal.SIGTERM)
        log.close()
        subprocess.run([BIN / "ray", "stop", "--force"], capture_output=True, timeout=60)
