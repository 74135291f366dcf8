"""API keys: the headers accepted, the errors for a missing, unknown or read-only key, and the
security schemes the OpenAPI document declares for them (a fake embedder: no model runs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.models.loading import Models
from qa_service.schemas import OpenAIError
from tests.conftest import make_settings

ADMIN, READ = "admin-key", "read-key"
DOC = {"documents": [{"id": "d1", "text": "The harbour reopened on Monday."}]}


@pytest.fixture
def keyed(tmp_path: Path, fake_models: Models) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "data", api_keys=ADMIN, read_api_keys=READ)
    with TestClient(create_app(settings, models=fake_models)) as c:
        yield c


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": f"Bearer {READ}"},
        {"Authorization": f"bearer   {READ}  "},  # the scheme in any case, the key trimmed
        {"X-API-Key": READ},
        {"Authorization": f"Basic {READ}", "X-API-Key": READ},  # not Bearer: X-API-Key counts
        {"Authorization": "Bearer", "X-API-Key": READ},  # Bearer without a key: likewise
    ],
)
def test_a_key_is_accepted_in_either_header(keyed: TestClient, headers):
    assert keyed.get("/documents", headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({}, "An API key is required"),
        ({"Authorization": f"Basic {ADMIN}"}, "An API key is required"),
        ({"X-API-Key": ""}, "An API key is required"),
        ({"Authorization": "Bearer wrong"}, "not valid"),
        ({"X-API-Key": "wrong"}, "not valid"),
        # Bearer is read first: a wrong one is not rescued by a right X-API-Key
        ({"Authorization": "Bearer wrong", "X-API-Key": ADMIN}, "not valid"),
    ],
)
def test_a_missing_or_unknown_key_is_401(keyed: TestClient, headers, detail):
    r = keyed.get("/documents", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"] == "/problems/unauthorized" and body["title"] == "Unauthorized"
    assert body["status"] == 401 and detail in body["detail"] and body["instance"] == "/documents"


def test_a_read_only_key_reads_but_cannot_write(keyed: TestClient):
    r = keyed.post("/documents", json=DOC, headers={"X-API-Key": READ})
    assert r.status_code == 403 and "www-authenticate" not in r.headers
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/forbidden" and "read-only" in r.json()["detail"]
    assert keyed.delete("/documents/d1", headers={"X-API-Key": READ}).status_code == 403
    r = keyed.post("/documents", json=DOC, headers={"Authorization": f"Bearer {ADMIN}"})
    assert r.status_code == 200
    r = keyed.get("/documents/d1", headers={"Authorization": f"Bearer {READ}"})
    assert r.status_code == 200 and r.json()["id"] == "d1"


def test_the_key_is_checked_before_the_body(keyed: TestClient):
    assert keyed.post("/documents", json={"documents": "nope"}).status_code == 401
    r = keyed.post("/documents", json={"documents": "nope"}, headers={"X-API-Key": ADMIN})
    assert r.status_code == 422


def test_openai_routes_answer_in_openai_shape(keyed: TestClient):
    r = keyed.get("/v1/models")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "error": {
            "message": "An API key is required: send `Authorization: Bearer <key>`.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    OpenAIError.model_validate(r.json(), strict=True)  # the body the OpenAPI document names
    assert keyed.get("/v1/models", headers={"Authorization": f"Bearer {READ}"}).status_code == 200


def test_open_routes_and_no_keys(keyed: TestClient, tmp_path: Path, fake_models: Models):
    assert keyed.get("/health").status_code == 200
    assert keyed.get("/openapi.json").status_code == 200
    with TestClient(create_app(make_settings(tmp_path / "open"), models=fake_models)) as c:
        assert c.get("/documents").status_code == 200  # no keys configured: open
        assert c.get("/documents", headers={"X-API-Key": "anything"}).status_code == 200


def test_openapi_declares_both_headers_as_security_schemes(keyed: TestClient):
    doc = keyed.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["BearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerAuth"]["description"],
    }
    assert schemes["ApiKeyAuth"]["type"] == "apiKey"
    assert schemes["ApiKeyAuth"]["in"] == "header" and schemes["ApiKeyAuth"]["name"] == "X-API-Key"
    either: list[dict[str, list[str]]] = [{"BearerAuth": []}, {"ApiKeyAuth": []}]
    paths = doc["paths"]
    assert paths["/documents"]["get"]["security"] == either
    assert paths["/documents"]["post"]["security"] == either
    assert paths["/v1/chat/completions"]["post"]["security"] == either
    assert "security" not in paths["/health"]["get"]
    # 401/403 are documented only where a key is asked for, with the body each route answers
    unauthorized = paths["/documents"]["get"]["responses"]["401"]
    assert unauthorized["content"] == {"application/problem+json": {"schema": ref("Problem")}}
    assert "WWW-Authenticate" in unauthorized["headers"]
    assert "401" not in paths["/health"]["get"]["responses"]
    v1 = paths["/v1/chat/completions"]["post"]["responses"]
    assert v1["401"]["content"] == {"application/json": {"schema": ref("OpenAIError")}}
    assert "422" not in v1  # invalid input is a 400 under /v1
    assert {"Problem", "OpenAIError", "OpenAIErrorDetail"} <= doc["components"]["schemas"].keys()


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}
