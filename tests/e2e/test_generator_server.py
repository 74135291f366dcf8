"""QA_GENERATOR=openai against real OpenAI-compatible servers on 127.0.0.1.

* ``transformers serve`` serving our local base gemma (no chat template: the client must find
  that out and use plain completions): a grounded answer with citations, and streaming.
* A small stdlib HTTP server speaking the OpenAI wire format, for what a real model won't do on
  demand: answer slowly (timeout), or invent a number (rejected by the verification).
* A closed port: the server is down (extractive fallback with the reason, never a 500).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.models.loading import Models, load_generator
from tests.api.test_ask import (
    KEY_SPAN,
    PRECONDITION,
    assert_grounded,
    read_events,
    replayed_answer,
    seed,
)
from tests.conftest import ROOT, make_settings
from tests.support.live_server import free_port

GEMMA = ROOT / "models" / "gemma-3-270m-bf16"
HAMA = "How far did the insurgents retreat from Hama?"
LIVES = "How many lives has the conflict claimed?"


# --- transformers serve -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``transformers serve`` on a free loopback port with the base gemma: (url, model)."""
    binary = Path(sys.executable).parent / "transformers"
    if not binary.exists() and (found := shutil.which("transformers")):
        binary = Path(found)
    if not binary.exists() or not GEMMA.exists():
        pytest.skip("needs `transformers serve` and models/gemma-3-270m-bf16 (make models)")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port), str(GEMMA)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-500:]
                pytest.skip(f"transformers serve did not start within 120 s: {tail}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield url, str(GEMMA)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def openai_client(models: Models, data_dir: Path, **overrides: Any) -> TestClient:
    """The real app with QA_GENERATOR=openai; the embedder and reader shared from the session."""
    settings = make_settings(data_dir, generator="openai", **overrides)
    generator = load_generator(settings)
    models = Models(models.embedder, generator, models.reader)
    return TestClient(create_app(settings, models=models))


def wait_for_probe(client: TestClient, timeout: float = 60) -> dict[str, Any]:
    """/ready's generator probe once it has decided chat or completions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        gen = client.get("/ready").json()["generator"]
        if gen.get("chat") is not None:
            return dict(gen)
        time.sleep(0.5)
    raise TimeoutError("the generator probe did not finish")


@pytest.fixture(scope="module")
def served_client(served, models, seed_text, tmp_path_factory) -> Iterator[TestClient]:
    url, model = served
    data = tmp_path_factory.mktemp("served") / "data"
    with openai_client(models, data, generator_url=url, generator_model=model) as c:
        seed(c, seed_text)
        yield c


@pytest.mark.slow
def test_ready_reports_the_server_and_finds_the_model_has_no_chat_template(served_client):
    gen = wait_for_probe(served_client)
    assert gen["reachable"] is True and gen["model_present"] is True
    assert gen["chat"] is False  # a base model: plain completions with our few-shot prompt
    # auto mode phrases answers only with chat models; the default stays extractive here
    assert served_client.get("/ready").json()["models"]["auto_mode"] == "extractive"


@pytest.mark.slow
def test_grounded_answer_with_citations_through_transformers_serve(served_client):
    wait_for_probe(served_client)
    r = served_client.post("/ask", json={"question": HAMA, "mode": "generative"})
    assert r.status_code == 200
    body = r.json()
    assert body["answerable"] is True
    assert body["grounding"] == "generated", body["fallback_reason"]
    assert "12 miles" in body["answer"] and body["fallback_reason"] is None
    assert any("12 miles" in c["quote"] for c in body["citations"])
    assert_grounded(served_client, body)
    assert "@http://127.0.0.1:" in body["model"]["generator"]
    assert body["timings_ms"]["generate"] > 0


@pytest.mark.slow
def test_streaming_through_transformers_serve(served_client):
    wait_for_probe(served_client)
    events = read_events(served_client, {"question": HAMA, "mode": "generative", "stream": True})
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["citations", "done"] and "delta" in kinds
    final = events[-2][1]
    assert replayed_answer(events) == final["answer"]
    assert final["grounding"] == "generated" and "12 miles" in final["answer"]


@pytest.mark.slow
def test_real_model_numbers_are_checked(served_client):
    """The base gemma answers this one with "1000000" (measured): rejected, extractive."""
    wait_for_probe(served_client)
    body = served_client.post("/ask", json={"question": LIVES, "mode": "generative"}).json()
    assert body["answerable"] is True and "half-a-million" in body["answer"]
    if body["grounding"] == "extractive":
        assert "not in the cited sources" in body["fallback_reason"]
    assert_grounded(served_client, body)


# --- a server that is down --------------------------------------------------------------------
def test_server_down_falls_back_to_extractive_with_the_reason(models, seed_text, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with openai_client(models, tmp_path / "data", generator_url=url, generator_model="m") as c:
        ready = c.get("/ready")
        assert ready.status_code == 200  # start-up never waits for the generator server
        seed(c, seed_text)
        for mode in ("generative", "auto"):
            t0 = time.monotonic()
            r = c.post("/ask", json={"question": PRECONDITION, "mode": mode})
            assert r.status_code == 200 and time.monotonic() - t0 < 30
            body = r.json()
            assert body["grounding"] == "extractive" and KEY_SPAN in body["answer"]
            assert "generator unavailable" in body["fallback_reason"]
            assert "unreachable" in body["fallback_reason"]
            assert_grounded(c, body)
        events = read_events(c, {"question": PRECONDITION, "mode": "generative", "stream": True})
        assert events[-2][0] == "citations" and KEY_SPAN in replayed_answer(events)
        summary = c.post("/summarize", json={"doc_id": "syria", "mode": "abstractive"})
        assert summary.status_code == 200
        assert summary.json()["mode"] == "extractive"
        assert "generator unavailable" in summary.json()["fallback_reason"]
        gen = c.get("/ready").json()["generator"]
        assert gen["reachable"] is False and "unreachable" in gen["detail"]


# --- a fake server in the OpenAI wire format --------------------------------------------------
class FakeOpenAI:
    """``/v1/models`` and streamed ``/v1/chat/completions`` with a fixed reply, after ``delay``."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        self.reply, self.delay = reply, delay
        self.requests: list[dict[str, Any]] = []
        self.auth: list[str | None] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                models = {"object": "list", "data": [{"id": "fake", "object": "model"}]}
                self._send(json.dumps(models).encode(), "application/json")

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(request)
                fake.auth.append(self.headers.get("Authorization"))
                time.sleep(fake.delay)
                events = []
                for word in fake.reply.split(" "):
                    delta = {"content": word + " "}
                    choice = {"index": 0, "delta": delta, "finish_reason": None}
                    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0,
                             "model": "fake", "choices": [choice]}  # fmt: skip
                    events.append(f"data: {json.dumps(chunk)}\n\n")
                events.append("data: [DONE]\n\n")
                # the client may have given up (timeout): expected
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send("".join(events).encode(), "text/event-stream")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_slow_server_times_out_and_falls_back(models, seed_text, tmp_path):
    with FakeOpenAI("Turkish military withdrawal from northern Syria [1].", delay=5) as fake:
        settings = {"generator_url": fake.url, "generator_model": "fake",
                    "generator_chat": "true", "generator_request_timeout_s": 1,
                    "generator_retries": 0}  # fmt: skip
        with openai_client(models, tmp_path / "data", **settings) as c:
            seed(c, seed_text)
            t0 = time.monotonic()
            body = c.post("/ask", json={"question": PRECONDITION, "mode": "generative"}).json()
            assert time.monotonic() - t0 < 4.5
    assert body["grounding"] == "extractive" and KEY_SPAN in body["answer"]
    assert body["fallback_reason"] == f"generator unavailable: {fake.url}: " + (
        "the generator server timed out"
    )


def test_invented_number_is_rejected_and_never_streamed(models, seed_text, tmp_path):
    with FakeOpenAI("The insurgents retreated 100 kilometers from Hama [1].") as fake:
        settings = {"generator_url": fake.url, "generator_model": "fake",
                    "generator_api_key": "sk-do-not-leak"}  # fmt: skip
        with openai_client(models, tmp_path / "data", **settings) as c:
            wait_for_probe(c)
            seed(c, seed_text)
            q = {"question": HAMA, "mode": "generative"}
            body = c.post("/ask", json=q).json()
            events = read_events(c, q | {"stream": True})
            ready = c.get("/ready").text
    assert body["grounding"] == "extractive" and "12 miles" in body["answer"]
    assert "100" in body["fallback_reason"] and "100" not in body["answer"]
    kinds = [k for k, _ in events]
    before_reset = kinds[: kinds.index("reset")] if "reset" in kinds else kinds
    shown = "".join(d["text"] for k, d in events[: len(before_reset)] if k == "delta")
    assert "100" not in shown
    assert replayed_answer(events) == body["answer"]
    # chat messages with our grounding rules: sources as quoted data, [n] markers asked for
    chat = next(r for r in fake.requests if r.get("stream"))
    system, user = chat["messages"][0]["content"], chat["messages"][1]["content"]
    assert "quoted data" in system and "[1]" in system
    assert user.startswith("Sources:\n[1] ") and HAMA in user
    assert chat["temperature"] == 0.0
    # the key reaches the server, never /ready
    assert set(fake.auth) == {"Bearer sk-do-not-leak"} and "sk-do-not-leak" not in ready
