"""Every client mistake gets its 4xx problem response and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def snapshot(client: TestClient) -> dict:
    return client.get("/documents", params={"limit": 1000}).json()


@pytest.fixture(scope="module")
def seeded(shared_client: TestClient, seed_text: str) -> TestClient:
    """Seeded once per backend: every test on it is rejected and must leave it as it is."""
    r = shared_client.post("/documents", json={"documents": [{"id": "syria", "text": seed_text}]})
    assert r.status_code == 200
    return shared_client


BAD_INGESTS = [
    ({"documents": [{"text": ""}]}, 422),
    ({"documents": [{"text": "   \n\t "}]}, 422),
    ({"documents": [{"title": "no text"}]}, 422),
    ({"documents": [{"text": 42}]}, 422),
    ({"documents": [{"text": "ok", "published_at": "not a date"}]}, 422),
    ({"documents": [{"text": "ok", "id": "has/slash"}]}, 422),
    ({"documents": [{"text": "ok", "bogus": 1}]}, 422),
    ({"documents": []}, 422),
    ({"documents": "nope"}, 422),
    ({}, 422),
    ([1, 2], 422),
    # a valid document followed by an invalid one: nothing is stored
    ({"documents": [{"id": "fresh", "text": "valid"}, {"text": ""}]}, 422),
    # the same id twice in one request
    ({"documents": [{"id": "dup", "text": "a"}, {"id": "dup", "text": "b"}]}, 422),
]


@pytest.mark.parametrize(("body", "status"), BAD_INGESTS)
def test_bad_ingest_is_rejected_and_changes_nothing(seeded: TestClient, body, status):
    before = snapshot(seeded)
    r = seeded.post("/documents", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem.keys() >= PROBLEM_KEYS and problem["status"] == status and problem["detail"]
    assert snapshot(seeded) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"query": ""}, 422),
        ({"query": "   "}, 422),
        ({"query": 5}, 422),
        ({}, 422),
        ({"query": "x", "top_k": 0}, 422),
        ({"query": "x", "top_k": 51}, 422),
        ({"query": "x", "top_k": "many"}, 422),
        ({"query": "x", "filters": {"doc_ids": []}}, 422),
        ({"query": "x", "filters": {"published_after": "yesterday"}}, 422),
        ({"query": "x", "mode": "magic"}, 422),
        ({"query": "x" * 5000}, 422),
    ],
)
def test_bad_search_is_rejected(seeded: TestClient, body, status):
    r = seeded.post("/search", json=body)
    assert r.status_code == status, r.text
    assert r.json().keys() >= PROBLEM_KEYS


def test_not_json_and_not_utf8(seeded: TestClient):
    before = snapshot(seeded)
    r = seeded.post(
        "/documents", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json().keys() >= PROBLEM_KEYS
    r = seeded.post(
        "/documents",
        content=b'{"documents": [{"text": "caf\xe9"}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and "UTF-8" in r.json()["detail"]
    assert snapshot(seeded) == before


def test_oversized_body_is_413(settings, models):
    small = settings.model_copy(update={"max_request_bytes": 2048})
    with TestClient(create_app(small, models=models)) as c:
        r = c.post("/documents", json={"documents": [{"text": "word " * 1000}]})
        assert r.status_code == 413 and r.json()["limit"] == 2048

        def chunks():
            for _ in range(10):
                yield b" " * 1000

        r = c.post("/search", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413
        assert c.get("/documents").json()["total"] == 0


def test_too_many_documents_and_too_long_text(settings, models):
    tight = settings.model_copy(update={"max_documents_per_request": 2, "max_text_chars": 50})
    with TestClient(create_app(tight, models=models)) as c:
        r = c.post("/documents", json={"documents": [{"text": f"t{i}"} for i in range(3)]})
        assert r.status_code == 422 and r.json()["limit"] == 2
        r = c.post("/documents", json={"documents": [{"text": "x" * 51}]})
        assert r.status_code == 422 and r.json()["limit"] == 50


def test_unknown_routes_and_documents(seeded: TestClient):
    r = seeded.get("/documents/missing")
    assert r.status_code == 404 and r.json()["type"] == "/problems/document-not-found"
    r = seeded.get("/nowhere")
    assert r.status_code == 404 and r.json().keys() >= PROBLEM_KEYS
    r = seeded.put("/search", json={"query": "x"})
    assert r.status_code == 405 and r.json().keys() >= PROBLEM_KEYS
    assert r.json()["type"] == "/problems/method-not-allowed"  # errors.STATUS_PROBLEMS
    r = seeded.get("/documents", params={"limit": 0})
    assert r.status_code == 422
