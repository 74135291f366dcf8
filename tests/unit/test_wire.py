"""Wire copies: exact and near duplicates, links across ingests, folding in search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.ingest import wire
from qa_service.models.loading import Models
from qa_service.schemas import DocumentIn, SummarizeRequest
from qa_service.service import QAService
from qa_service.storage.types import ChunkRow, Hit
from tests.support.newsroom import STORIES, story_text, wire_copy


def test_exact_hash_ignores_case_spacing_and_punctuation() -> None:
    a = "The harbour reopened on Monday — the port said.\n\nShips waited."
    b = "the  HARBOUR reopened on Monday, the port said... Ships waited"
    assert wire.text_hash(a) == wire.text_hash(b)
    assert wire.text_hash(a) != wire.text_hash(a + " Again.")


def test_signatures_separate_copies_from_other_stories() -> None:
    original = story_text("harbour")
    copy = "\n".join(wire_copy(STORIES["harbour"][1]))
    sig = wire.signature(original)
    assert wire.similarity(sig, wire.signature(copy)) >= 0.5
    for other in ("glacier", "budget", "orchestra"):
        assert wire.similarity(sig, wire.signature(story_text(other))) < 0.1
    assert set(wire.band_keys(sig)) & set(wire.band_keys(wire.signature(copy)))
    assert (wire.signature(original) == sig).all()  # the same in every call and process


def _hit(doc_id: str, text: str, chunk_id: int) -> Hit:
    row = ChunkRow(chunk_id, doc_id, 0, 0, len(text), text, None, None, None, None)
    return Hit(row, 1.0 / chunk_id, None, None)


def test_fold_keeps_one_passage_per_cluster_and_names_the_copies() -> None:
    para = STORIES["harbour"][1][1]
    hits = [
        _hit("a", para, 1),
        _hit("b", "TALLINN (Wire) - " + para, 2),  # b's copy of the same passage
        _hit("c", STORIES["glacier"][1][0], 3),  # another story
        _hit("b", "Reporting by Kadri Tamm; Editing by Mark Bell", 4),  # only b has it
        _hit("a", STORIES["harbour"][1][2], 5),  # a's own other passage
    ]
    clusters = {
        "a": wire.Link("a", None, None),
        "b": wire.Link("a", "a", 0.7),
        "c": wire.Link("c", None, None),
    }
    folded = wire.fold(hits, clusters)
    assert [(h.chunk.id, also) for h, also in folded] == [(1, ["b"]), (3, []), (4, []), (5, [])]


@pytest.fixture
def service(tmp_path: Path, fake_models: Models) -> Iterator[QAService]:
    s = QAService(Settings(data_dir=tmp_path / "data", generator="none"), fake_models)
    yield s
    s.close()


def _doc(doc_id: str, paragraphs: list[str], title: str) -> DocumentIn:
    return DocumentIn(id=doc_id, title=title, text="\n".join(paragraphs))


def test_copies_are_linked_and_folded_in_search_and_cited_in_summaries(service: QAService):
    title, paragraphs = STORIES["harbour"]
    service.ingest([_doc("times", paragraphs, title)])
    service.ingest(
        [
            _doc("wire", wire_copy(paragraphs), title),
            *(_doc(k, p, t) for k, (t, p) in STORIES.items() if k != "harbour"),
        ]
    )
    links = service.wire.links(["times", "wire", "glacier"])
    assert links["wire"].cluster == links["times"].cluster == "times"
    similarity = links["wire"].similarity
    assert links["wire"].linked_to == "times" and similarity is not None and similarity >= 0.3
    assert links["glacier"].cluster == "glacier" and links["glacier"].linked_to is None

    hits = service.search("repairs to the eastern quay cost", top_k=5)
    assert hits[0].doc_id in ("times", "wire")
    assert next(h.also_in for h in hits if h.doc_id in ("times", "wire"))
    shown = [h for h in hits if "eastern quay" in h.text]
    assert len(shown) == 1  # the passage both outlets carry is shown once

    summary = service.summarize(SummarizeRequest(query="eastern quay repairs harbour", top_k=3))
    assert {"times", "wire"} <= set(summary.doc_ids)

    service.delete_document("times")
    assert "times" not in service.wire.links(["times"])
    assert service.search("repairs to the eastern quay cost", top_k=5)[0].doc_id == "wire"


def test_an_updated_text_is_linked_anew(service: QAService) -> None:
    title, paragraphs = STORIES["harbour"]
    service.ingest([_doc("times", paragraphs, title), _doc("other", ["Nothing alike."], "x")])
    assert service.wire.links(["other"])["other"].linked_to is None
    service.ingest([_doc("other", wire_copy(paragraphs), title)])  # now a copy
    assert service.wire.links(["other"])["other"].linked_to == "times"
    assert not service.wire.missing(["times", "other"])


def test_exact_copies_under_another_url_are_not_stored_again(service: QAService) -> None:
    title, paragraphs = STORIES["glacier"]
    text = "\n".join(paragraphs)
    first = DocumentIn(id="url-a", text=text, title=title, url="http://a.test/g")
    spaced = DocumentIn(id="url-b", text=text.upper() + "  ", title=title, url="http://b.test/g")
    again = DocumentIn(id="url-a", text=text, title=title, url="http://a.test/g")
    results = service.news.ingest_articles(
        [("http://a.test/g", first), ("http://b.test/g", spaced)]
    )
    assert [(r.status, r.id, r.duplicate_of) for r in results] == [
        ("created", "url-a", None),
        ("unchanged", "url-a", "url-a"),
    ]
    assert results[1].chunks == results[0].chunks
    [r] = service.news.ingest_articles([("http://a.test/g", again)])
    assert (r.status, r.duplicate_of) == ("unchanged", None)  # the same URL: an ordinary re-ingest
    assert service.store.count_documents() == 1


def test_documents_from_before_the_index_are_backfilled(service: QAService) -> None:
    title, paragraphs = STORIES["harbour"]
    service.ingest([_doc("times", paragraphs, title), _doc("wire", wire_copy(paragraphs), title)])
    service.wire.forget("times")
    service.wire.forget("wire")
    assert service.wire.missing(["times", "wire"]) == ["times", "wire"]
    service.news.backfill()
    assert service.wire.links(["wire"])["wire"].linked_to == "times"
