"""Service and index bookkeeping with a fake embedder (fast; the real model runs in tests/api)."""

from __future__ import annotations

import numpy as np

from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from qa_service.storage.local import LocalSearcher
from qa_service.storage.sqlite import SQLiteStore
from tests.conftest import FakeEmbedder, make_settings


def doc(i: int, text: str | None = None, **kw) -> DocumentIn:
    return DocumentIn(id=f"d{i}", text=text or f"Story {i} about harbour number {i}.", **kw)


def faiss_of(svc: QAService) -> LocalSearcher:
    assert isinstance(svc.index, LocalSearcher)
    return svc.index


def sqlite_of(svc: QAService) -> SQLiteStore:
    assert isinstance(svc.store, SQLiteStore)
    return svc.store


def index_matches_store(svc: QAService) -> bool:
    ids = np.sort(faiss_of(svc).vectors.ids())
    return np.array_equal(ids, sqlite_of(svc).chunk_ids())


def test_writes_by_another_process_are_seen(tmp_path, fake_models):
    settings = make_settings(tmp_path)
    a = QAService(settings, fake_models)
    b = QAService(settings, fake_models)  # e.g. `qa-service ingest` beside a running server
    b.ingest([doc(1, "The lighthouse keeper retired after forty years.")])
    hits = a.search("lighthouse keeper", 3)
    assert [h.doc_id for h in hits] == ["d1"]
    b.delete_document("d1")
    assert a.search("lighthouse keeper", 3) == []
    assert index_matches_store(a) and index_matches_store(b)
    a.close()
    b.close()


def test_index_file_behind_the_database_is_caught_up(tmp_path, fake_models):
    settings = make_settings(tmp_path, index_save_interval_s=3600)
    svc = QAService(settings, fake_models)
    svc.ingest([doc(1)])
    faiss_of(svc).save()
    svc.ingest([doc(2), doc(3)])  # not saved to the index file (interval not reached)
    svc.delete_document("d1")
    sqlite_of(svc).close()  # a crash: no final save
    again = QAService(settings, fake_models)
    assert index_matches_store(again)
    assert {h.doc_id for h in again.search("harbour", 10)} == {"d2", "d3"}
    again.close()


def test_changing_the_embedder_re_embeds_everything(tmp_path, fake_models):
    settings = make_settings(tmp_path)
    svc = QAService(settings, fake_models)
    svc.ingest([doc(1), doc(2)])
    svc.close()

    class Other(FakeEmbedder):
        name = "another-model"
        dim = 32

    from qa_service.models.loading import Models

    again = QAService(settings, Models(embedder=Other()))
    assert faiss_of(again).vectors.dim == 32 and faiss_of(again).vectors.size == 2
    assert index_matches_store(again)
    assert {h.doc_id for h in again.search("harbour", 5)} == {"d1", "d2"}
    again.close()


def test_title_change_re_embeds_but_source_change_does_not(tmp_path, fake_models):
    svc = QAService(make_settings(tmp_path), fake_models)
    svc.ingest([doc(1, title="Old")])
    chunk_ids = sqlite_of(svc).chunk_ids().tolist()
    assert svc.ingest([doc(1, title="Old", source="AP")])[0].status == "updated"
    assert sqlite_of(svc).chunk_ids().tolist() == chunk_ids
    assert svc.ingest([doc(1, title="New", source="AP")])[0].status == "updated"
    assert sqlite_of(svc).chunk_ids().tolist() != chunk_ids
    assert index_matches_store(svc)
    svc.close()


def test_failed_batch_stores_nothing(tmp_path, fake_models):
    svc = QAService(make_settings(tmp_path, max_text_chars=100), fake_models)
    import pytest

    from qa_service.errors import LimitExceeded

    with pytest.raises(LimitExceeded):
        svc.ingest([doc(1), doc(2, "x" * 101)])
    assert svc.store.count_documents() == 0 and faiss_of(svc).vectors.size == 0
    svc.close()


def test_large_collection_switches_to_ivf_and_honours_deletes(tmp_path, fake_models):
    settings = make_settings(tmp_path, ann_threshold=40)
    svc = QAService(settings, fake_models)
    kinds = [faiss_of(svc).vectors.kind]
    svc.ingest([doc(i, f"Report {i} on the harbour of town{i}.") for i in range(60)])
    faiss_of(svc).wait_idle()
    kinds.append(faiss_of(svc).vectors.kind)
    assert kinds == ["flat", "ivf"] and index_matches_store(svc)
    assert svc.search("harbour of town7", 1)[0].doc_id == "d7"
    svc.delete_document("d7")
    assert all(h.doc_id != "d7" for h in svc.search("harbour of town7", 50))
    svc.close()
    again = QAService(settings, fake_models)  # the IVF file is reloaded, not rebuilt
    assert faiss_of(again).vectors.kind == "ivf" and index_matches_store(again)
    assert all(h.doc_id != "d7" for h in again.search("harbour of town7", 50))
    again.close()


def test_bm25_main_index_is_rebuilt_in_the_background(tmp_path, fake_models, monkeypatch):
    from qa_service.storage.bm25 import LexicalIndex

    monkeypatch.setattr(LexicalIndex, "REBUILD_MIN_CHURN", 5)
    svc = QAService(make_settings(tmp_path), fake_models)
    svc.ingest([doc(i, f"Zeppelin number {i} landed.") for i in range(3)])
    # read-your-writes through the delta, before any rebuild
    assert {h.doc_id for h in svc.search("zeppelin", 10, mode="keyword")} == {"d0", "d1", "d2"}
    svc.ingest([doc(i, f"Zeppelin number {i} landed.") for i in range(3, 12)])
    faiss_of(svc).wait_idle()
    lexical = faiss_of(svc).lexical
    assert len(lexical.main.ids) == 12 and not lexical.added and not lexical.removed
    svc.delete_document("d4")
    hits = {h.doc_id for h in svc.search("zeppelin", 20, mode="keyword")}
    assert "d4" not in hits and len(hits) == 11
    svc.close()
