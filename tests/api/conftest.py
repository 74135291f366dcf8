"""The API suite runs against both storage backends: FAISS + SQLite, and Milvus (Lite)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from qa_service.config import Settings
from tests.conftest import make_settings

HAS_MILVUS = importlib.util.find_spec("milvus_lite") is not None


@pytest.fixture(params=["faiss", "milvus"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "milvus" and not HAS_MILVUS:
        pytest.skip("milvus-lite is not installed (pip install 'qa-service[milvus]')")
    return make_settings(tmp_path / "data", vector_store=request.param)


def faiss_only(settings: Settings) -> None:
    if settings.vector_store != "faiss":
        pytest.skip("checks the FAISS index files")
