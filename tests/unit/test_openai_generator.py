"""The OpenAI-server client's chat-or-completions probe, against a small stdlib server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from qa_service.config import Settings
from qa_service.models.openai_generator import OpenAIGenerator


class NoTemplateServer(BaseHTTPRequestHandler):
    """A model without a chat template, served the way ``transformers serve`` does: chat
    requests get a 500 and the kept-alive connection is dropped with the next request on it."""

    protocol_version = "HTTP/1.1"
    poisoned = False

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "base", "object": "model"}]})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.poisoned:
            self.close_connection = True  # no response: the client sees a dropped connection
            return
        if self.path.endswith("/chat/completions"):
            self.poisoned = True
            self._send(500, {"error": {"message": "Internal Server Error"}})
            return
        choice = {"index": 0, "text": ",", "finish_reason": "length"}
        self._send(200, {"id": "c", "object": "text_completion", "created": 0,
                         "model": "base", "choices": [choice]})  # fmt: skip


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NoTemplateServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_probe_learns_completions_when_the_server_drops_the_connection_after_a_chat_error(
    server_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, generator="openai", generator_url=server_url,
                        generator_model="base", generator_chat="auto")  # fmt: skip
    generator = OpenAIGenerator(settings)
    deadline = time.monotonic() + 20
    while (health := generator.health())["chat"] is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert health["reachable"] is True and health["model_present"] is True
    assert health["chat"] is False and generator.is_chat is False
