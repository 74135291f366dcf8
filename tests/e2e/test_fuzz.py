"""Schemathesis fuzzes every operation of the OpenAPI schema: no 5xx, and responses that match
the schema (the real embedding model; no generator, to keep each call fast)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from qa_service.api import create_app
from qa_service.models.loading import Models
from tests.conftest import SEED_ARTICLE, make_settings

EXAMPLES = 25


def _no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"no name lookups in the fuzz test ({host})")


@pytest.fixture(scope="module")
def schema(models, tmp_path_factory) -> Iterator[schemathesis.BaseSchema]:
    settings = make_settings(tmp_path_factory.mktemp("fuzz") / "data", generator="none")
    app = create_app(settings, models=Models(models.embedder, None, models.reader))
    with (
        pytest.MonkeyPatch.context() as mp,
        TestClient(app) as client,  # the lifespan opens the service for the fuzzer's calls
    ):
        mp.setattr(
            "qa_service.ingest.fetch.resolve", _no_dns
        )  # fuzzed URLs never leave the machine
        doc = {"id": "syria", "title": "Syria", "text": SEED_ARTICLE.read_text(encoding="utf-8")}
        assert client.post("/documents", json={"documents": [doc]}).status_code == 200
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_without_server_errors(schema):
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            response = case.call()
            label = f"{case.method} {case.path}"
            calls[label] = calls.get(label, 0) + 1
            assert response.status_code < 500, (
                f"{label} -> {response.status_code}: {response.text[:300]}"
            )
            case.validate_response(
                response, checks=(response_schema_conformance, content_type_conformance)
            )

        run()
    assert len(calls) >= 15  # every operation was exercised
    print(f"schemathesis: {sum(calls.values())} calls over {len(calls)} operations")
