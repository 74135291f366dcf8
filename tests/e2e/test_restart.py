"""Restarts, for both backends, each step in a fresh process as a user runs them.

``qa-service ingest`` writes the store and exits; ``qa-service serve`` reopens it, finds and
answers from every document, takes a delete, an update and a new document (read-your-writes) and
is stopped; a second ``serve`` reopens that state and gives the same search results; finally
``qa-service ask`` reopens it once more from the command line. ``make run`` with
``QA_VECTOR_STORE=milvus`` (ingest, then serve) must reach /ready and answer the sample question.

Every Milvus test used to start from an empty database in the process that wrote it, so nobody
noticed that Milvus Lite 3 reopens its collections released (issue #14). About 2-3 minutes in all
on 2 cores: most of it is loading the embedding model in each new process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.crashkit import ROOT, Server, cli_command, log_errors, process_env
from tests.support.live_server import free_port

HAS_MILVUS = importlib.util.find_spec("milvus_lite") is not None
pytestmark = [
    pytest.mark.processes,
    pytest.mark.skipif(os.name != "posix", reason="stops servers through POSIX process groups"),
]

QUESTION = "What is Assad's precondition for normalizing ties with Turkey?"
ANSWER_QUOTE = "Turkish military withdrawal from northern Syria"
SYRIA = "syria-hama-counteroffensive"  # the id `ingest examples/articles` gives the article
SAMPLES = ROOT / "examples" / "articles"
#: Documents besides the sample article: id -> (title, a made-up name only it holds, text).
EXTRA = {
    "keep": ("Ferry timetable", "Quorvath", "Mayor Elena Quorvath said the ferry keeps its hours."),
    "drop": ("Bridge repairs", "Brindlevik", "Tomas Brindlevik found cracks in the rail bridge."),
    "change": ("Market hall", "Saltovar", "The market hall, run by Ines Saltovar, reopens soon."),
}
CHANGED = ("Market hall", "Morrowdane", "Piet Morrowdane will run the market hall next year.")
ADDED = ("Night buses", "Wendricksen", "Lotte Wendricksen will drive the night bus to the port.")
BASELINE = "Assad precondition normalization Turkey"


def backend_env(backend: str, data_dir: Path) -> dict[str, str]:
    return {
        "QA_VECTOR_STORE": backend,
        "QA_DATA_DIR": str(data_dir),
        "QA_GENERATOR": "none",
        "QA_LOG_LEVEL": "info",
    }


def run_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(*args),
        env=process_env(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def find(client: httpx.Client, url: str, word: str) -> list[str]:
    """The documents of the hits for ``word`` whose chunk text names it."""
    r = client.post(f"{url}/search", json={"query": word, "top_k": 5})
    assert r.status_code == 200, r.text
    return [h["doc_id"] for h in r.json()["results"] if word in h["text"]]


def counts(output: str) -> list[int]:
    """The created/updated/unchanged/failed row of ``qa-service ingest``'s table."""
    line = next(ln for ln in output.splitlines() if re.match(r"^│\s+\d", ln))
    return [int(n) for n in re.findall(r"\d+", line)]


def baseline(client: httpx.Client, url: str) -> list[tuple[str, int, int]]:
    r = client.post(f"{url}/search", json={"query": BASELINE, "top_k": 5})
    assert r.status_code == 200, r.text
    return [(h["doc_id"], h["start"], h["end"]) for h in r.json()["results"]]


def ask(client: httpx.Client, url: str) -> dict[str, Any]:
    r = client.post(f"{url}/ask", json={"question": QUESTION, "mode": "extractive"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["answerable"], body
    assert any(c["doc_id"] == SYRIA and ANSWER_QUOTE in c["quote"] for c in body["citations"])
    return body


def check_ready(client: httpx.Client, url: str, documents: int) -> None:
    ready = client.get(f"{url}/ready").json()
    assert ready["documents"] == documents, ready
    listed = client.get(f"{url}/documents", params={"limit": 100}).json()["documents"]
    assert ready["chunks"] == sum(d["chunks"] for d in listed), (ready, listed)


def stop(server: Server) -> None:
    assert server.stop() == [], server.log_tail()
    assert log_errors(server.log_path) == []


@pytest.mark.parametrize("backend", ["faiss", "milvus"])
def test_ingest_then_serve_then_restart_after_a_delete_and_an_update(backend, tmp_path):
    if backend == "milvus" and not HAS_MILVUS:
        pytest.skip("milvus-lite is not installed (pip install 'qa-service[milvus]')")
    data_dir = tmp_path / "data"
    env = backend_env(backend, data_dir)
    extra = tmp_path / "extra.jsonl"
    lines = [json.dumps({"id": i, "title": t, "text": x}) for i, (t, _, x) in EXTRA.items()]
    extra.write_text("\n".join(lines) + "\n")

    # 1. the command line writes the store, and exits
    ingested = run_cli(env, "ingest", str(SAMPLES), str(extra))
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    assert "Traceback" not in ingested.stderr, ingested.stderr  # e.g. AllocTimestamp
    assert counts(ingested.stdout) == [4, 0, 0, 0], ingested.stdout

    # 2. a server in a new process reopens it: everything is found; then a delete, an update
    # and a new document, each visible at once
    (tmp_path / "logs").mkdir()
    server = Server(data_dir, tmp_path / "logs", env)
    try:
        server.start()
        server.wait_ready(180)
        with httpx.Client(timeout=60) as c:
            url = server.url
            check_ready(c, url, 4)
            for doc_id, (_, name, _) in EXTRA.items():
                assert find(c, url, name) == [doc_id]
            ask(c, url)
            assert c.delete(f"{url}/documents/drop").status_code == 204
            docs = [
                {"id": "change", "title": CHANGED[0], "text": CHANGED[2]},
                {"id": "added", "title": ADDED[0], "text": ADDED[2]},
            ]
            r = c.post(f"{url}/documents", json={"documents": docs})
            assert [d["status"] for d in r.json()["documents"]] == ["updated", "created"], r.text
            assert find(c, url, EXTRA["drop"][1]) == []
            assert find(c, url, EXTRA["change"][1]) == []
            assert find(c, url, CHANGED[1]) == ["change"]
            assert find(c, url, ADDED[1]) == ["added"]
            before = baseline(c, url)
        stop(server)

        # 3. a second server reopens that state: same documents, same results
        server.start()
        server.wait_ready(180)
        with httpx.Client(timeout=60) as c:
            url = server.url
            check_ready(c, url, 4)
            assert c.get(f"{url}/documents/drop").status_code == 404
            assert c.get(f"{url}/documents/change").json()["text"] == CHANGED[2]
            assert find(c, url, EXTRA["keep"][1]) == ["keep"]
            assert find(c, url, EXTRA["drop"][1]) == []
            assert find(c, url, EXTRA["change"][1]) == []
            assert find(c, url, CHANGED[1]) == ["change"]
            assert find(c, url, ADDED[1]) == ["added"]
            assert baseline(c, url) == before
            ask(c, url)
        stop(server)
    finally:
        server.stop()

    # 4. and the command line once more
    answered = run_cli(env, "ask", QUESTION, "--mode", "extractive", "--json")
    assert answered.returncode == 0, answered.stdout + answered.stderr
    body = json.loads(answered.stdout)
    assert body["answerable"] and body["citations"][0]["doc_id"] == SYRIA, body


@pytest.mark.skipif(not HAS_MILVUS, reason="milvus-lite is not installed")
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_run_with_milvus_reaches_ready_and_answers(tmp_path):
    """``QA_VECTOR_STORE=milvus make run``, twice: the second run ingests into the existing store
    (all unchanged) and serves it. ``install`` and ``models`` are taken as done (``make test``
    did them): the test installs nothing."""
    venv = Path(sys.executable).parent.parent
    port = free_port()
    env = process_env(backend_env("milvus", tmp_path / "data"))
    env.update(QA_PORT=str(port), QA_HOST="127.0.0.1")
    command = ["make", "--no-print-directory", "-o", "install", "-o", "models", "run",
               f"VENV={venv}"]  # fmt: skip
    for n in (1, 2):
        log_path = tmp_path / f"make-run-{n}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        try:
            body = _wait_ready(f"http://127.0.0.1:{port}", proc, log_path, 240)
            assert body["documents"] == 1, body
            with httpx.Client(timeout=60) as c:
                ask(c, f"http://127.0.0.1:{port}")
        finally:
            _stop_group(proc)
        text = log_path.read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]
        assert counts(text) == ([1, 0, 0, 0] if n == 1 else [0, 0, 1, 0]), text[-3000:]


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            r = httpx.get(f"{url}/ready", timeout=5)
            body: dict = r.json()
            if r.status_code == 200:
                return body
            assert body["status"] != "failed", body
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"not ready within {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")


def _stop_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
