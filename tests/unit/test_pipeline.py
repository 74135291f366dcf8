"""The ingest pipeline (``ingest/pipeline.py``) with a fake embedder and a recording index, on a
real SQLite file in ``tmp_path`` (the transaction is what is under test): what one batch
embeds and writes, what re-ingesting costs, and that a failure stores none of the batch."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from qa_service.config import Settings
from qa_service.errors import DocumentNotFound, InvalidInput, LimitExceeded
from qa_service.ingest import pipeline
from qa_service.ingest.pipeline import DocumentEncoder, IngestPipeline, derive_doc_id
from qa_service.ingest.wire import WireLinks, text_hash
from qa_service.schemas import DocumentIn
from qa_service.storage.sqlite import SQLiteStore
from tests.conftest import FakeEmbedder, make_settings
from tests.unit.fakes import RecordingEmbedder

A = (
    "The harbour bridge will reopen in May, officials said on Monday. "
    "Engineers replaced every cable of the bridge during the long winter. "
    "Traffic on the coast road stayed light for the whole week. "
    "The ferry will keep running until the bridge reopens to cars."
)
B = "Glaciers in the northern valley shrank by a third, a survey found."


class RecordingIndex:
    """The upkeep side of a search index: records what it is asked to apply and save."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.applied: list[tuple[list[int], list[int], np.ndarray, bool]] = []
        self.saves = 0

    def apply(self, removed, added, vectors) -> None:
        self.applied.append((list(removed), list(added), np.array(vectors), self.lock.locked()))

    def maybe_save(self) -> None:
        self.saves += 1

    def wait_idle(self, timeout: float = 600) -> None:
        pass

    def status(self) -> dict[str, object]:
        return {}

    def close(self) -> None:
        pass


@dataclass
class Rig:
    settings: Settings
    embedder: RecordingEmbedder
    store: SQLiteStore
    index: RecordingIndex
    wire: WireLinks
    pipeline: IngestPipeline

    def chunk_ids(self, doc_id: str) -> list[int]:
        with sqlite3.connect(self.settings.db_path) as c:
            rows = c.execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY ord", (doc_id,))
            return [r[0] for r in rows]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    settings = make_settings(
        tmp_path, chunk_tokens=16, chunk_overlap_tokens=4, max_documents_per_request=3,
        max_text_chars=1000,
    )  # fmt: skip
    embedder = RecordingEmbedder()
    store = SQLiteStore(settings.db_path)
    wire = WireLinks(settings.db_path, settings.wire_threshold)
    index = RecordingIndex()
    encoder = DocumentEncoder(settings, embedder)
    yield Rig(settings, embedder, store, index, wire,
              IngestPipeline(settings, encoder, store, index, wire))  # fmt: skip
    store.close()
    wire.close()


def doc(doc_id: str | None = "a", text: str = A, **kw) -> DocumentIn:
    return DocumentIn(id=doc_id, text=text, **kw)


# --- one batch -----------------------------------------------------------------------------------
def test_a_batch_is_chunked_embedded_in_one_call_and_written_with_its_vectors(rig: Rig):
    results = rig.pipeline.ingest([doc("a", title="Bridge"), doc("b", B)])
    assert [(r.id, r.status) for r in results] == [("a", "created"), ("b", "created")]
    stored = rig.store.export_chunks(["a", "b"])
    assert [r.chunks for r in results] == [len(stored["a"]), len(stored["b"])]
    assert len(stored["a"]) > 2 and len(stored["b"]) == 1
    starts = [c.start for c in stored["a"]]
    assert starts[0] == 0 and starts == sorted(starts) and stored["a"][-1].end == len(A)
    # one embedding call for the whole batch; the title goes before each of its chunks
    expected = [f"Bridge\n{A[c.start : c.end]}" for c in stored["a"]] + [B]
    assert rig.embedder.batches == [expected]
    vectors = FakeEmbedder().embed(expected)
    np.testing.assert_allclose([c.vector for c in (*stored["a"], *stored["b"])], vectors)
    # the index gets exactly the stored chunks, with their vectors, under its lock
    ((removed, added, applied, locked),) = rig.index.applied
    assert removed == [] and added == rig.chunk_ids("a") + rig.chunk_ids("b") and locked
    np.testing.assert_allclose(applied, vectors)
    assert rig.index.saves == 1


def test_re_ingesting_the_same_document_is_unchanged_and_costs_no_embedding(rig: Rig):
    first = rig.pipeline.ingest([doc(published_at="2024-05-01T12:00:00+02:00")])
    before = rig.store.get_document("a")
    again = rig.pipeline.ingest([doc(published_at="2024-05-01T10:00:00Z")])  # the same instant
    assert [(r.status, r.chunks) for r in again] == [("unchanged", first[0].chunks)]
    assert len(rig.embedder.batches) == 1 and len(rig.index.applied) == 1
    assert rig.store.get_document("a") == before


def test_a_document_without_an_id_gets_the_same_id_for_the_same_text(rig: Rig):
    (first,) = rig.pipeline.ingest([doc(None)])
    assert first.id == derive_doc_id(A) and first.status == "created"
    assert rig.pipeline.ingest([doc(None)])[0].status == "unchanged"
    assert rig.pipeline.ingest([doc(None, B)])[0].id != first.id


def test_a_changed_text_replaces_the_chunks_and_keeps_the_creation_time(rig: Rig, monkeypatch):
    monkeypatch.setattr(pipeline, "now_iso", lambda: "2024-01-01T00:00:00+00:00")
    rig.pipeline.ingest([doc()])
    old_ids = rig.chunk_ids("a")
    monkeypatch.setattr(pipeline, "now_iso", lambda: "2024-02-01T00:00:00+00:00")
    (result,) = rig.pipeline.ingest([doc(text=B)])
    assert (result.status, result.chunks) == ("updated", 1)
    stored = rig.store.get_document("a")
    assert stored is not None and stored.text == B and stored.chunk_count == 1
    assert (stored.created_at, stored.updated_at) == ("2024-01-01T00:00:00+00:00",
                                                      "2024-02-01T00:00:00+00:00")  # fmt: skip
    removed, added, _, _ = rig.index.applied[-1]
    assert removed == old_ids and added == rig.chunk_ids("a") and not set(added) & set(old_ids)


def test_a_metadata_change_embeds_nothing_but_a_title_change_re_embeds(rig: Rig):
    rig.pipeline.ingest([doc(title="Old")])
    chunk_ids, embedded = rig.chunk_ids("a"), len(rig.embedder.embedded)
    (result,) = rig.pipeline.ingest([doc(title="Old", source="AP", metadata={"desk": "city"})])
    assert (result.status, result.chunks) == ("updated", len(chunk_ids))
    assert len(rig.embedder.embedded) == embedded and rig.chunk_ids("a") == chunk_ids
    assert rig.index.applied[-1][:2] == ([], [])
    stored = rig.store.get_document("a")
    assert stored is not None and (stored.source, stored.metadata) == ("AP", {"desk": "city"})
    rig.pipeline.ingest([doc(title="New", source="AP", metadata={"desk": "city"})])
    new_texts = rig.embedder.embedded[embedded:]
    assert len(new_texts) == len(chunk_ids) and all(t.startswith("New\n") for t in new_texts)
    assert rig.chunk_ids("a") != chunk_ids


# --- all or nothing ------------------------------------------------------------------------------
def test_a_failing_embedder_stores_nothing_of_the_batch(rig: Rig):
    rig.pipeline.ingest([doc()])
    chunk_ids = rig.chunk_ids("a")
    rig.embedder.fail = RuntimeError("the embedding server went away")
    hooks: list[object] = []
    with pytest.raises(RuntimeError, match="went away"):
        rig.pipeline.ingest([doc(text=A + " More."), doc("b", B)], lambda r: hooks.append)
    stored = rig.store.get_document("a")
    assert stored is not None and stored.text == A and rig.chunk_ids("a") == chunk_ids
    assert rig.store.get_document("b") is None and rig.store.count_documents() == 1
    assert len(rig.index.applied) == 1 and hooks == []
    assert list(rig.wire.links(["a", "b"])) == ["a"]


def test_a_failing_commit_hook_rolls_back_documents_chunks_and_wire_links(rig: Rig):
    def on_commit(results):
        def hook(c: sqlite3.Connection) -> None:
            raise RuntimeError("job table is locked")

        return hook

    with pytest.raises(RuntimeError, match="locked"):
        rig.pipeline.ingest([doc(), doc("b", B)], on_commit)
    assert rig.store.count_documents() == 0 and rig.store.count_chunks() == 0
    assert rig.index.applied == [] and rig.wire.links(["a", "b"]) == {}


def test_the_commit_hook_sees_the_results_and_commits_even_when_nothing_changed(rig: Rig):
    rig.pipeline.ingest([doc()])
    seen: list[list[tuple[str, str]]] = []

    def on_commit(results):
        seen.append([(r.id, r.status) for r in results])
        return lambda c: c.execute(f"CREATE TABLE progress_{len(seen)} (n INTEGER)")

    rig.pipeline.ingest([doc(), doc("b", B)], on_commit)
    rig.pipeline.ingest([doc(), doc("b", B)], on_commit)  # nothing to write: the hook still runs
    assert seen == [
        [("a", "unchanged"), ("b", "created")],
        [("a", "unchanged"), ("b", "unchanged")],
    ]
    with sqlite3.connect(rig.settings.db_path) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"progress_1", "progress_2"} <= tables


@pytest.mark.parametrize(
    ("docs", "error", "message"),
    [
        ([doc(f"d{i}") for i in range(4)], LimitExceeded, "4 documents in one request"),
        ([doc("a"), doc("b", "x" * 1001)], LimitExceeded, "documents[1].text has 1001"),
        ([doc("a"), doc("a", B)], InvalidInput, "documents[1] has the id 'a'"),
        ([doc(None), doc(None)], InvalidInput, "documents[1] has the id"),
    ],
)
def test_an_invalid_batch_is_refused_before_any_work(rig: Rig, docs, error, message):
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        rig.pipeline.ingest(docs)
    assert rig.store.count_documents() == 0 and rig.embedder.batches == []


def test_a_caller_may_allow_a_larger_batch(rig: Rig):
    results = rig.pipeline.ingest([doc(f"d{i}", f"Story {i} of the day.") for i in range(5)],
                                  max_documents=5)  # fmt: skip
    assert [r.status for r in results] == ["created"] * 5
    with pytest.raises(LimitExceeded):
        rig.pipeline.ingest([doc(f"d{i}") for i in range(6)], max_documents=5)


# --- wire copies and deletes ---------------------------------------------------------------------
def test_copies_are_linked_in_the_same_write_and_a_delete_forgets_them(rig: Rig):
    near = "LONDON (Wire) - " + A.rsplit(" The ferry", 1)[0]  # dateline added, last sentence cut
    exact = A.upper().replace(",", "")
    rig.pipeline.ingest([doc("a"), doc("near", near), doc("other", B)])
    rig.pipeline.ingest([doc("exact", exact)])
    links = rig.wire.links(["a", "near", "other", "exact"])
    assert (links["near"].linked_to, links["near"].cluster) == ("a", links["a"].cluster)
    assert (links["other"].linked_to, links["other"].cluster) == (None, "other")
    assert rig.wire.holders(text_hash(A)) == ["a", "exact"]

    near_ids = rig.chunk_ids("near")
    rig.pipeline.delete("near")
    assert rig.store.get_document("near") is None and "near" not in rig.wire.links(["near"])
    removed, added, vectors, locked = rig.index.applied[-1]
    assert (removed, added, vectors.shape, locked) == (near_ids, [], (0, FakeEmbedder.dim), True)
    with pytest.raises(DocumentNotFound):
        rig.pipeline.delete("near")
    assert len(rig.index.applied) == 3


# --- the encoder ---------------------------------------------------------------------------------
def test_chunks_leave_room_for_the_title_within_the_embedder_window():
    long_text = " ".join(f"Sentence number {i} of a long story." for i in range(120))
    with_titles = DocumentEncoder(
        Settings(chunk_tokens=400, chunk_overlap_tokens=300), FakeEmbedder()
    )
    assert (with_titles.chunk_tokens, with_titles.chunk_overlap) == (256 - 32, 112)
    counts = FakeEmbedder().count_tokens([c.text for c in with_titles.chunk(long_text)])
    assert max(counts) <= 224 and len(counts) > 3
    bare = DocumentEncoder(
        Settings(chunk_tokens=400, chunk_overlap_tokens=300, embed_titles=False), FakeEmbedder()
    )
    assert (bare.chunk_tokens, bare.chunk_overlap) == (256, 128)
    assert bare.embed_text("Title", "chunk") == "chunk"
    assert with_titles.embed_text(None, "chunk") == "chunk"
    assert with_titles.embed_text("T" * 300, "chunk") == "T" * 200 + "\nchunk"


def test_the_index_hash_changes_with_what_the_vectors_depend_on():
    settings = Settings()
    encoder = DocumentEncoder(settings, FakeEmbedder())
    base = encoder.index_hash(A, "Title")
    assert encoder.index_hash(A, "Title") == base
    assert encoder.index_hash(A + " More.", "Title") != base
    assert encoder.index_hash(A, "Other") != base
    assert (
        DocumentEncoder(settings, RecordingEmbedder("other-model")).index_hash(A, "Title") != base
    )
    smaller = DocumentEncoder(Settings(chunk_tokens=100), FakeEmbedder())
    assert smaller.index_hash(A, "Title") != base
    untitled = DocumentEncoder(Settings(embed_titles=False), FakeEmbedder())
    assert untitled.index_hash(A, "Title") == untitled.index_hash(A, "Other")


class DiesAfterOneBatch(RecordingEmbedder):
    def embed(self, texts):
        if self.batches:
            raise RuntimeError("killed")
        return super().embed(texts)


def test_a_new_embedder_re_embeds_every_document_and_resumes_after_a_crash(rig: Rig):
    docs = [doc(f"d{i:03}", f"Story {i} of the day.") for i in range(101)]
    rig.pipeline.ingest(docs, max_documents=101)
    old = rig.pipeline.encoder
    old.reindex_if_changed(rig.store)  # records the settings; nothing to do
    assert len(rig.embedder.batches) == 1

    crashing = DocumentEncoder(rig.settings, DiesAfterOneBatch("model-b"))
    with pytest.raises(RuntimeError, match="killed"):
        crashing.reindex_if_changed(rig.store)  # the first 100 documents commit
    stored = rig.store.list_documents(200, 0)[0]
    fresh = [d.id for d in stored if d.index_hash == crashing.index_hash(d.text, d.title)]
    assert len(fresh) == 100

    embedder = RecordingEmbedder("model-b")
    DocumentEncoder(rig.settings, embedder).reindex_if_changed(rig.store)
    assert embedder.embedded == ["Story 100 of the day."]  # only what the crash left
    stored = rig.store.list_documents(200, 0)[0]
    assert all(d.index_hash == crashing.index_hash(d.text, d.title) for d in stored)
    DocumentEncoder(rig.settings, embedder).reindex_if_changed(rig.store)  # settled: no work
    assert embedder.embedded == ["Story 100 of the day."]
