"""Documents and search through HTTP, with the real embedding model."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from tests.api.conftest import faiss_only

QUERY = "Assad precondition normalization Turkey"


def ingest(client: TestClient, *docs: dict) -> list[dict]:
    r = client.post("/documents", json={"documents": list(docs)})
    assert r.status_code == 200, r.text
    return r.json()["documents"]


def test_seed_article_search_top_result_slices_back(client: TestClient, seed_text: str):
    [res] = ingest(client, {"id": "syria", "text": seed_text, "title": "Syria's counteroffensive"})
    assert res == {"id": "syria", "status": "created", "chunks": res["chunks"]}
    assert res["chunks"] >= 2
    r = client.post("/search", json={"query": QUERY, "top_k": 3})
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 3
    top = results[0]
    assert "Turkish military withdrawal from northern Syria" in top["text"]
    doc = client.get("/documents/syria").json()
    for hit in results:
        assert doc["text"][hit["start"] : hit["end"]] == hit["text"]
        assert 0 < hit["score"] <= 1


def test_unchanged_update_and_delete(client: TestClient, seed_text: str):
    first = ingest(client, {"text": seed_text})[0]
    assert first["status"] == "created" and first["id"].startswith("doc-")
    again = ingest(client, {"text": seed_text})[0]
    assert again == {**first, "status": "unchanged"}

    # a metadata change is an update; the id stays
    meta = ingest(client, {"text": seed_text, "source": "AP"})[0]
    assert meta["status"] == "updated" and meta["id"] == first["id"]

    # a text change replaces the old chunks: the old wording is no longer found
    changed = seed_text.replace("Turkish military withdrawal", "a Turkish pullout")
    ingest(client, {"id": "syria", "text": seed_text})
    upd = ingest(client, {"id": "syria", "text": changed})[0]
    assert upd["status"] == "updated"
    hits = client.post(
        "/search", json={"query": QUERY, "top_k": 10, "filters": {"doc_ids": ["syria"]}}
    ).json()["results"]
    assert hits and all(h["doc_id"] == "syria" for h in hits)
    assert not any("Turkish military withdrawal" in h["text"] for h in hits)
    assert any("a Turkish pullout" in h["text"] for h in hits)

    assert client.delete("/documents/syria").status_code == 204
    hits = client.post("/search", json={"query": QUERY, "top_k": 50}).json()["results"]
    assert all(h["doc_id"] != "syria" for h in hits)
    assert client.get("/documents/syria").status_code == 404
    assert client.delete("/documents/syria").status_code == 404


def test_list_is_paginated(client: TestClient):
    ingest(
        client, *({"id": f"d{i}", "text": f"Article number {i} about topic {i}."} for i in range(5))
    )
    page = client.get("/documents", params={"limit": 2, "offset": 0}).json()
    assert page["total"] == 5 and [d["id"] for d in page["documents"]] == ["d0", "d1"]
    assert page["next_offset"] == 2 and "text" not in page["documents"][0]
    last = client.get("/documents", params={"limit": 2, "offset": 4}).json()
    assert [d["id"] for d in last["documents"]] == ["d4"] and last["next_offset"] is None
    detail = client.get("/documents/d3").json()
    assert detail["text"] == "Article number 3 about topic 3." and detail["chunks"] == 1


def test_filters_apply_before_top_k(client: TestClient, seed_text: str):
    docs = [
        {
            "id": f"other{i}",
            "text": f"Turkey and Syria talks, part {i}. Assad spoke.",
            "source": "wire",
        }
        for i in range(6)
    ]
    ingest(
        client,
        {"id": "syria", "text": seed_text, "source": "ap", "published_at": "2024-12-03"},
        *docs,
    )
    r = client.post("/search", json={"query": QUERY, "top_k": 3, "filters": {"source": "ap"}})
    hits = r.json()["results"]
    assert len(hits) == 3 and {h["doc_id"] for h in hits} == {"syria"}
    r = client.post("/search", json={"query": QUERY, "top_k": 5, "filters": {"source": ["wire"]}})
    assert {h["doc_id"] for h in r.json()["results"]} <= {d["id"] for d in docs}
    after = {"published_after": "2024-12-01T00:00:00Z", "published_before": "2024-12-31"}
    r = client.post("/search", json={"query": QUERY, "filters": after})
    assert {h["doc_id"] for h in r.json()["results"]} == {"syria"}
    r = client.post("/search", json={"query": QUERY, "filters": {"published_after": "2025-01-01"}})
    assert r.json()["results"] == []


def test_restart_keeps_everything(settings, models, seed_text: str):
    with TestClient(create_app(settings, models=models)) as c:
        ingest(c, {"id": "syria", "text": seed_text})
        before = c.post("/search", json={"query": QUERY}).json()
    with TestClient(create_app(settings, models=models)) as c:
        assert c.get("/ready").json()["documents"] == 1
        assert ingest(c, {"id": "syria", "text": seed_text})[0]["status"] == "unchanged"
        after = c.post("/search", json={"query": QUERY}).json()
    # the same hits in the same order; scores equal up to float rounding (a vector read back
    # from Milvus can differ from the one just written in the last of its 6 printed decimals)
    assert [h["chunk_id"] for h in before["results"]] == [h["chunk_id"] for h in after["results"]]
    for b, a in zip(before["results"], after["results"], strict=True):
        assert {k: v for k, v in b.items() if not k.endswith("score")} == {
            k: v for k, v in a.items() if not k.endswith("score")
        }
        for k in ("score", "dense_score", "keyword_score"):
            assert a[k] == pytest.approx(b[k], abs=1e-5)


def test_missing_or_corrupt_index_file_is_rebuilt(settings, models, seed_text: str):
    faiss_only(settings)
    with TestClient(create_app(settings, models=models)) as c:
        ingest(c, {"id": "syria", "text": seed_text})
        before = c.post("/search", json={"query": QUERY}).json()
    settings.index_path.write_bytes(b"garbage")
    with TestClient(create_app(settings, models=models)) as c:
        assert c.post("/search", json={"query": QUERY}).json() == before
    settings.index_path.unlink()
    with TestClient(create_app(settings, models=models)) as c:
        assert c.post("/search", json={"query": QUERY}).json() == before


def test_search_on_empty_index(client: TestClient):
    r = client.post("/search", json={"query": "anything"})
    assert r.status_code == 200 and r.json() == {"results": []}


def test_health_and_ready(client: TestClient):
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_milvus_flushes_written_chunks_and_still_finds_them(
    settings, models, seed_text, monkeypatch
):
    """Flushed (sealed, indexed) rows behave like fresh ones: updates and deletes still apply."""
    if settings.vector_store != "milvus":
        pytest.skip("Milvus only")
    from qa_service.storage.milvus import store as milvus

    monkeypatch.setattr(milvus, "_FLUSH_ROWS", 1)  # flush after every write
    with TestClient(create_app(settings, models=models)) as c:
        ingest(
            c, {"id": "syria", "text": seed_text}, {"id": "other", "text": "Rain in Oslo today."}
        )
        assert c.app.state.service.store._unflushed == 0  # type: ignore[attr-defined]
        assert c.post("/search", json={"query": QUERY}).json()["results"][0]["doc_id"] == "syria"
        ingest(c, {"id": "syria", "text": seed_text + "\nA new closing line about Hama."})
        hits = c.post("/search", json={"query": QUERY, "top_k": 50}).json()["results"]
        assert {h["doc_id"] for h in hits} == {"syria", "other"}
        syria = [h for h in hits if h["doc_id"] == "syria"]  # the new version's chunks, once
        assert len(syria) == c.get("/documents/syria").json()["chunks"]
        assert c.delete("/documents/other").status_code == 204
        hits = c.post("/search", json={"query": "Rain in Oslo"}).json()["results"]
        assert all(h["doc_id"] == "syria" for h in hits)
