"""`qa-service migrate` copies FAISS+SQLite into Milvus and back; searches agree on both."""

from __future__ import annotations

import importlib.util

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa_service.api import create_app
from qa_service.cli.main import app as cli
from tests.conftest import make_settings

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("milvus_lite") is None, reason="milvus-lite is not installed"
)
QUERY = "Assad precondition normalization Turkey"


def test_round_trip(tmp_path, models, seed_text, monkeypatch):
    data = tmp_path / "data"
    docs = [
        {"id": "syria", "title": "Syria", "text": seed_text, "source": "ap"},
        {"id": "ferry", "title": "Ferry", "text": "The ferry strike ended on Monday after talks."},
    ]
    with TestClient(create_app(make_settings(data), models=models)) as c:
        assert c.post("/documents", json={"documents": docs}).status_code == 200
        before = c.post("/search", json={"query": QUERY, "top_k": 3}).json()["results"]

    monkeypatch.setenv("QA_DATA_DIR", str(data))
    result = CliRunner().invoke(cli, ["migrate", "--to", "milvus"])
    assert result.exit_code == 0, result.output
    assert "copied 2 documents" in result.output

    milvus = make_settings(data, vector_store="milvus")
    with TestClient(create_app(milvus, models=models)) as c:
        assert c.get("/documents").json()["total"] == 2
        assert c.get("/documents/syria").json()["text"] == seed_text
        after = c.post("/search", json={"query": QUERY, "top_k": 3}).json()["results"]
        assert [h["text"] for h in after] == [h["text"] for h in before]
        # change something in Milvus, then copy back into a fresh FAISS data dir
        c.delete("/documents/ferry")

    back = tmp_path / "back"
    monkeypatch.setenv("QA_MILVUS_URI", str(data / "milvus.db"))
    monkeypatch.setenv("QA_DATA_DIR", str(back))
    result = CliRunner().invoke(cli, ["migrate", "--to", "faiss"])
    assert result.exit_code == 0, result.output
    with TestClient(create_app(make_settings(back), models=models)) as c:
        assert [d["id"] for d in c.get("/documents").json()["documents"]] == ["syria"]
        again = c.post("/search", json={"query": QUERY, "top_k": 3}).json()["results"]
        assert [h["text"] for h in again] == [h["text"] for h in before]
