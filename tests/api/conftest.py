"""The API suite runs against both storage backends: FAISS + SQLite, and Milvus (Lite).

`client` is a fresh, empty app per test: for tests that write, delete, count or need an empty
store. `shared_client` is one app per test module and backend: a module seeds it once (its own
module-scoped fixture) and only tests that read put it to use, so every reader sees the same data.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.models.loading import Models
from tests.conftest import make_settings

HAS_MILVUS = importlib.util.find_spec("milvus_lite") is not None
BACKENDS = ["faiss", "milvus"]


def backend_settings(backend: str, data_dir: Path) -> Settings:
    if backend == "milvus" and not HAS_MILVUS:
        pytest.skip("milvus-lite is not installed (pip install 'qa-service[milvus]')")
    return make_settings(data_dir, vector_store=backend)


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return backend_settings(request.param, tmp_path / "data")


@pytest.fixture(scope="module", params=BACKENDS)
def shared_client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, models: Models
) -> Iterator[TestClient]:
    """One app per module and backend, built once: seed it once, then only read from it."""
    data_dir = tmp_path_factory.mktemp(f"shared-{request.param}") / "data"
    with TestClient(create_app(backend_settings(request.param, data_dir), models=models)) as c:
        yield c


def faiss_only(settings: Settings) -> None:
    if settings.vector_store != "faiss":
        pytest.skip("checks the FAISS index files")
