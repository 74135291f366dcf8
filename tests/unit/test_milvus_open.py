"""Opening a Milvus store that exists (issue #14), with a fake embedder: fast, in one process.

The fresh-process restarts are in ``tests/e2e/test_restart.py``; here each state a restart can
find is made by hand: collections released (as after a Milvus restart), an index missing (a first
start killed half-way), vectors of another size, a foreign collection, no server at all, a write
killed half-way. Errors that waiting will not cure fail at once, with their reason, on /ready and
in the CLI.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa_service.api import app as app_module
from qa_service.api import create_app
from qa_service.errors import StorageError
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from qa_service.storage.milvus.schema import Collections, connect
from qa_service.storage.milvus.store import MilvusStore
from tests.conftest import make_settings
from tests.support.live_server import free_port

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("milvus_lite") is None, reason="milvus-lite is not installed"
)

TEXT = "The lighthouse keeper Ansel Varrow retired after forty years on the rock."


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path / "data", vector_store="milvus", generator="none")


def store_of(svc: QAService) -> MilvusStore:
    assert isinstance(svc.store, MilvusStore)
    return svc.store


def names(settings) -> list[str]:
    c = Collections.of(settings)
    return [c.docs, c.parts, c.meta, c.chunks]


def test_released_collections_are_loaded_on_open(settings, fake_models):
    svc = QAService(settings, fake_models)
    svc.ingest([DocumentIn(id="d1", text=TEXT)])
    svc.close()
    client, _ = connect(settings)  # as after a Milvus restart: everything released
    for name in names(settings):
        client.release_collection(name)
        assert client.get_load_state(name)["state"].name == "NotLoad"
    client.close()

    svc = QAService(settings, fake_models)
    try:
        assert svc.get_document("d1").text == TEXT
        assert [h.doc_id for h in svc.search("Ansel Varrow", 3)] == ["d1"]
    finally:
        svc.close()


def test_a_missing_index_is_created_on_open(settings, fake_models):
    """A first start killed between creating the chunk collection and indexing it."""
    svc = QAService(settings, fake_models)
    svc.ingest([DocumentIn(id="d1", text=TEXT)])
    svc.close()
    client, _ = connect(settings)
    chunks = Collections.of(settings).chunks
    client.release_collection(chunks)
    client.drop_index(chunks, "vector")
    client.close()

    svc = QAService(settings, fake_models)
    try:
        assert [h.doc_id for h in svc.search("Ansel Varrow", 3, mode="dense")] == ["d1"]
    finally:
        svc.close()


def test_vectors_of_another_size_fail_with_the_reason(settings):
    MilvusStore(settings, 64).close()
    with pytest.raises(StorageError) as e:
        MilvusStore(settings, 32)
    assert "64-d" in e.value.detail and "32-d" in e.value.detail
    assert "QA_MILVUS_COLLECTION" in e.value.detail and "pymilvus" in e.value.detail


def test_a_foreign_collection_fails_with_the_reason(settings):
    from pymilvus import DataType

    client, _ = connect(settings)
    schema = client.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=64)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(Collections.of(settings).meta, schema=schema)
    client.close()
    with pytest.raises(StorageError, match=r"lacks the fields \['value'\]"):
        MilvusStore(settings, 64)


def test_no_server_fails_within_seconds(settings):
    settings = settings.model_copy(update={"milvus_uri": f"http://127.0.0.1:{free_port()}"})
    t0 = time.monotonic()
    with pytest.raises(StorageError, match=r"Cannot connect to Milvus at http://127\.0\.0\.1"):
        MilvusStore(settings, 64)
    assert time.monotonic() - t0 < 15


def test_a_lite_file_held_by_another_process_fails_with_the_reason(settings, tmp_path):
    path = settings.data_dir / "milvus.db"
    path.mkdir(parents=True)
    hold = "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_EX); "
    hold += "print('held', flush=True); time.sleep(60)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(path / "LOCK")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StorageError, match="another process holds the lock") as e:
            MilvusStore(settings, 64)
        assert "milvus-lite server" in e.value.detail
    finally:
        holder.kill()
        holder.wait()


def test_a_milvus_lite_2_file_fails_with_the_reason(settings):
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "milvus.db").write_bytes(b"SQLite format 3\x00")
    with pytest.raises(StorageError, match="Milvus Lite 2 database"):
        MilvusStore(settings, 64)


def test_a_write_killed_half_way_is_cleaned_up_on_open(settings, fake_models, monkeypatch):
    svc = QAService(settings, fake_models)
    store = store_of(svc)
    upsert = store.client.upsert

    def die_at_the_switch(collection, rows, **kw):
        if collection == store.docs:
            raise KeyboardInterrupt  # the process dies: chunks and text in, no document row
        return upsert(collection, rows, **kw)

    monkeypatch.setattr(store.client, "upsert", die_at_the_switch)
    with pytest.raises(KeyboardInterrupt):
        svc.ingest([DocumentIn(id="d1", text=TEXT)])
    monkeypatch.undo()
    assert store.count_documents() == 0 and store.count_chunks() > 0  # invisible leftovers
    svc.close()

    svc = QAService(settings, fake_models)
    try:
        assert store_of(svc).count_chunks() == 0
        svc.ingest([DocumentIn(id="d1", text=TEXT)])  # the client tries again: nothing doubled
        assert svc.get_document("d1").text == TEXT
        assert store_of(svc).count_chunks() == svc.get_document("d1").chunks
    finally:
        svc.close()


def test_ready_says_failed_with_the_reason_at_once(settings, fake_models, monkeypatch):
    settings = settings.model_copy(update={"milvus_uri": f"http://127.0.0.1:{free_port()}"})
    monkeypatch.setattr(app_module, "load_models", lambda _: fake_models)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 15
        while (r := client.get("/ready")).json()["status"] == "starting":
            assert time.monotonic() < deadline, "still starting after 15 s"
            time.sleep(0.1)
    assert r.status_code == 503 and r.json()["status"] == "failed"
    assert "Cannot connect to Milvus at http://127.0.0.1" in r.json()["detail"]
    assert "Retry-After" not in r.headers  # waiting will not help


def test_the_cli_exits_1_with_the_reason(settings, fake_models, monkeypatch, tmp_path):
    from qa_service.cli.main import app as cli
    from qa_service.models import loading

    monkeypatch.setattr(loading, "load_models", lambda _: fake_models)
    MilvusStore(settings, 64).close()
    monkeypatch.setenv("QA_VECTOR_STORE", "milvus")
    monkeypatch.setenv("QA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("QA_GENERATOR", "none")
    fake_models.embedder.dim = 32  # another embedding model
    result = CliRunner().invoke(cli, ["ask", "Who retired?"])
    assert result.exit_code == 1, result.output
    assert "Storage error" in result.output and "64-d" in result.output
    assert "Traceback" not in result.output
