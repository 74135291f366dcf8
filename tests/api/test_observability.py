"""Request ids, metrics and JSON logs."""

from __future__ import annotations

import json
import logging

from fastapi.testclient import TestClient

from qa_service.observability import JsonFormatter, request_id


def test_request_id_is_returned_and_generated(client: TestClient):
    r = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    # an id that is not sane (here: too long) is replaced, not echoed
    assert client.get("/health", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"] != (
        "x" * 500
    )
    # errors carry it too
    assert "x-request-id" in client.get("/documents/missing").headers


def test_metrics_count_requests_ingests_and_index(client: TestClient, seed_text: str):
    client.post("/documents", json={"documents": [{"id": "syria", "text": seed_text}]})
    client.post("/search", json={"query": "Assad"})
    body = client.get("/metrics").text
    assert 'qa_http_requests_total{method="POST",route="/search",status="200"}' in body
    assert 'qa_documents_ingested_total{status="created"}' in body
    chunks = client.get("/ready").json()["index"]["vectors"]  # what the gauge was set to
    assert chunks > 0
    assert f"qa_index_chunks {float(chunks)}\n" in body
    assert 'qa_model_seconds_count{op="embed"}' in body


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord(
        "qa_service.x", logging.INFO, __file__, 1, "hello %s", ("you",), None
    )
    record.duration_ms = 1.5
    token = request_id.set("rid-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)
    assert line["msg"] == "hello you" and line["request_id"] == "rid-1"
    assert line["level"] == "info" and line["duration_ms"] == 1.5
