"""Stories on tiny inputs, no models: filing articles (``ingest/stories.py``), the timeline rule
(``answer/timeline.py``), ``since`` and the digest's Markdown."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from qa_service.answer.timeline import StoryArticle, timeline
from qa_service.cli.digest import digest_markdown
from qa_service.errors import InvalidInput
from qa_service.ingest.stories import Copy, Filing, StoryBook, article_names
from qa_service.models.loading import Models
from qa_service.schemas import DigestResponse, DigestStory, DocumentIn, StorySentence
from qa_service.service import QAService
from qa_service.stories import parse_since
from tests.conftest import FakeEmbedder, make_settings

DIM = 8


def unit(*weights: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(weights)] = weights
    return v / np.linalg.norm(v)


QUAKE, QUAKE_2, CHESS = unit(1, 0.1), unit(1, 0.3), unit(0, 0, 1)


def filing(doc_id: str, at: str, vector, text: str = "Officials in Velmora said so.", **kw):
    return Filing(doc_id, at, kw.pop("title", doc_id), text, vector, **kw)


class Book(StoryBook):
    """A story book on its own file; ``file`` runs a filing transaction as ingestion does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, window_days=3, similarity=0.8, name_similarity=0.5)
        self.path = path

    def file(self, *filings: Filing, copies: dict[str, list[str]] | None = None) -> None:
        conn = sqlite3.connect(self.path)
        with conn:  # one transaction, committed
            self.file_hook(list(filings), lambda c, d: (copies or {}).get(d, [d]))(conn)
        conn.close()


@pytest.fixture
def book(tmp_path: Path) -> Book:
    return Book(tmp_path / "db.sqlite")


def test_similar_articles_within_the_window_share_a_story(book: Book) -> None:
    book.file(filing("a", "2025-03-03T08:00:00+00:00", QUAKE))
    book.file(filing("b", "2025-03-04T08:00:00+00:00", QUAKE_2))
    book.file(filing("c", "2025-03-04T09:00:00+00:00", CHESS))
    book.file(filing("late", "2025-03-20T08:00:00+00:00", QUAKE))  # outside the window
    stories = book.story_of(["a", "b", "c", "late"])
    assert stories["a"] == stories["b"]
    assert len({stories["a"], stories["c"], stories["late"]}) == 3
    story = book.story(stories["a"])
    assert story is not None and [m.doc_id for m in story.members] == ["a", "b"]
    assert (story.first_at, story.last_at, story.title) == (
        "2025-03-03T08:00:00+00:00", "2025-03-04T08:00:00+00:00", "a",
    )  # fmt: skip


def test_wire_copies_always_share_a_story_and_shared_names_lower_the_bar(book: Book) -> None:
    far = unit(0.5, 0, 0, 1)  # cosine 0.45 to QUAKE: no story of its own merit
    book.file(filing("a", "2025-03-03T08:00:00+00:00", QUAKE))
    book.file(filing("copy", "2025-03-03T09:00:00+00:00", far), copies={"copy": ["a", "copy"]})
    named = "Mayor Anna Berg of Velmora met the Red Crescent."
    other, mid = unit(0, 0, 0, 0, 1), unit(0, 0, 0, 0, 1, 1.2)  # cosine 0.64
    book.file(filing("x", "2025-03-03T08:00:00+00:00", other, text=named))
    book.file(filing("y", "2025-03-03T10:00:00+00:00", mid, text=named))  # two names or more
    book.file(filing("x2", "2025-04-03T08:00:00+00:00", other, text=named))
    book.file(filing("z", "2025-04-03T10:00:00+00:00", mid, text="Nobody is named here."))
    s = book.story_of(["a", "copy", "x", "y", "x2", "z"])
    assert s["copy"] == s["a"]
    assert s["y"] == s["x"] != s["a"]
    assert s["z"] != s["x2"]


def test_deleting_an_article_updates_its_story_and_drops_an_empty_one(book: Book) -> None:
    book.file(filing("a", "2025-03-03T08:00:00+00:00", QUAKE))
    book.file(filing("b", "2025-03-05T08:00:00+00:00", QUAKE_2))
    sid = book.story_of(["a"])["a"]
    book.add_copy(Copy("a", "https://post.test/a", "Evening Post", "2025-03-03T09:00:00+00:00"))
    book.forget("b")
    story = book.story(sid)
    assert story is not None and story.size == 1 and story.last_at.startswith("2025-03-03")
    book.forget("a")
    assert book.story(sid) is None and book.copies(["a"]) == {}
    assert book.stories() == ([], 0)


def test_a_metadata_change_keeps_the_story_and_moves_its_time(book: Book) -> None:
    book.file(filing("a", "2025-03-03T08:00:00+00:00", QUAKE))
    book.file(filing("b", "2025-03-04T08:00:00+00:00", QUAKE_2))
    sid = book.story_of(["b"])["b"]
    book.file(filing("b", "2025-03-06T08:00:00+00:00", None))
    story = book.story(sid)
    assert story is not None and story.size == 2 and story.last_at.startswith("2025-03-06")


def test_stories_are_paged_newest_first_and_filtered(book: Book) -> None:
    book.file(filing("a", "2025-03-03T08:00:00+00:00", QUAKE, source="Coast Times"))
    book.file(filing("c", "2025-03-05T08:00:00+00:00", CHESS, source="Sports", feed_id="f1"))
    book.add_copy(Copy("a", "https://post.test/a", "Evening Post", None))
    stories, total = book.stories()
    assert total == 2 and [s.members[0].doc_id for s in stories] == ["c", "a"]
    assert [s.members[0].doc_id for s in book.stories(limit=1, offset=1)[0]] == ["a"]
    assert book.stories(sources=["Evening Post"])[1] == 1  # through the copy
    assert book.stories(feeds=["f1"])[0][0].members[0].doc_id == "c"
    assert book.stories(since="2025-03-04T00:00:00+00:00")[1] == 1
    assert book.stories(until="2025-03-04T00:00:00+00:00")[0][0].members[0].doc_id == "a"
    assert book.missing(["a", "c", "new"]) == ["new"]


def test_article_names_skip_sentence_starts_and_calendar_words() -> None:
    text = "Rescue teams reached Velmora on Monday. Officials of the Red Crescent said so."
    assert article_names("Earthquake Hits Velmora", text) == ["velmora", "red", "crescent"]


def test_the_timeline_leaves_out_repetitions_but_not_new_figures() -> None:
    day1 = "An earthquake struck Velmora on Monday, killing 45 people.\nSchools closed at once."
    day2 = (
        "An earthquake struck Velmora on Monday, killing 45 people, officials said.\n"
        "The death toll rose to 60 on Tuesday.\nAid reached the city."
    )
    day3 = "The toll rose to 60 on Tuesday, the ministry said.\nThe rebuilding began in earnest."
    events = timeline(
        [
            StoryArticle("d1", "2025-03-03T08:00:00+00:00", day1),
            StoryArticle("d2", "2025-03-04T08:00:00+00:00", day2),
            StoryArticle("d3", "2025-03-05T08:00:00+00:00", day3),
        ]
    )
    quotes = [(e.doc_id, e.quote) for e in events]
    assert quotes == [
        ("d1", "An earthquake struck Velmora on Monday, killing 45 people."),
        ("d1", "Schools closed at once."),
        ("d2", "The death toll rose to 60 on Tuesday."),
        ("d2", "Aid reached the city."),
        ("d3", "The rebuilding began in earnest."),
    ]
    texts = {"d1": day1, "d2": day2, "d3": day3}
    assert all(texts[e.doc_id][e.start : e.end] == e.quote for e in events)
    assert len(timeline([StoryArticle("d1", "t", day1)], per_article=1)) == 1


def test_since_takes_rfc3339_times_and_spans() -> None:
    now = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now) == "2025-03-04T12:00:00+00:00"
    assert parse_since("90m", now) == "2025-03-05T10:30:00+00:00"
    assert parse_since("7d", now) == "2025-02-26T12:00:00+00:00"
    assert parse_since("2025-03-04T10:00:00Z", now) == "2025-03-04T10:00:00+00:00"
    assert parse_since("2025-03-04T12:00:00+02:00", now) == "2025-03-04T10:00:00+00:00"
    with pytest.raises(InvalidInput, match="RFC 3339"):
        parse_since("yesterday", now)


def test_the_digest_markdown_cites_and_escapes_article_text() -> None:
    sentence = StorySentence(
        quote="Officials said *60* died [update].", doc_id="d2", start=0, end=34, title="T",
        source="Evening Post", url="https://post.test/q2", published_at="2025-03-04T08:00:00+00:00",
    )  # fmt: skip
    story = DigestStory(id="s1", title="Quake # 1", articles=[], sources=["Evening Post"],
                        new=[sentence])  # fmt: skip
    text = digest_markdown(DigestResponse(since="2025-03-04T00:00:00+00:00", stories=[story]))
    assert "## Quake \\# 1" in text
    assert "- Officials said \\*60\\* died \\[update\\]. " in text
    assert "([Evening Post, 4 March 2025](https://post.test/q2))" in text
    empty = digest_markdown(DigestResponse(since="2025-03-04T00:00:00+00:00", stories=[]))
    assert "No story gained articles since then." in empty


def test_articles_stored_while_stories_were_off_are_filed_by_the_backfill(tmp_path: Path) -> None:
    docs = [
        DocumentIn(id=f"q{i}", text=f"Rescue teams reached Velmora again on day {i} of the quake.")
        for i in range(3)
    ] + [DocumentIn(id="chess", text="The chess champion kept her title in Oslo after a draw.")]
    off = QAService(make_settings(tmp_path, stories=False), Models(embedder=FakeEmbedder()))
    off.ingest(docs)
    off.close()
    on = QAService(make_settings(tmp_path, story_similarity=0.5), Models(embedder=FakeEmbedder()))
    assert on.stories is not None and on.stories.missing(["q0", "chess"]) == ["q0", "chess"]
    on.news.backfill()
    stories = on.stories.story_of([d.id for d in docs if d.id])
    assert stories["q0"] == stories["q1"] == stories["q2"] != stories["chess"]
    on.news.backfill()  # nothing left to do
    assert on.stories.stories()[1] == 2
    on.close()
