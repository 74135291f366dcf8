"""Time-aware answers (``answer/figures.py``): the story's newest article for latest questions,
figure updates composed with dates and citations, ``as_of``; on tiny inputs and fake models."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from qa_service.answer.evidence import Evidence
from qa_service.answer.figures import (
    accepted,
    compose,
    find_update,
    newest_first,
    same_story,
)
from qa_service.answer.options import AskOptions, published_by
from qa_service.models.loading import Models
from qa_service.models.reader import Reading
from qa_service.schemas import AskRequest, DocumentIn, SearchFilters
from qa_service.service import QAService
from qa_service.storage.types import Filters
from tests.conftest import FakeEmbedder, ScriptedGenerator, make_settings

DIED = "How many people have died?"
SO_FAR = "How many people have died so far?"
DAY1, DAY2, DAY3 = (
    "2024-12-02T09:00:00+00:00",
    "2024-12-03T09:00:00+00:00",
    "2024-12-04T09:00:00+00:00",
)


def ev(quote: str, doc_id: str, published_at: str | None, score: float = 0.9, **kw) -> Evidence:
    fields = {"title": None, "url": None, "start": 0, "end": len(quote), "quote": quote,
              "chunk_text": quote, "score": score}  # fmt: skip
    return Evidence(doc_id=doc_id, published_at=published_at, **(fields | kw))


class Lookup:
    """A ``StoryLookup`` from a table; records what it was asked."""

    def __init__(self, stories: dict[str, str]) -> None:
        self.stories = stories
        self.asked: list[list[str]] = []

    def story_of(self, doc_ids):
        self.asked.append(list(doc_ids))
        return {d: self.stories[d] for d in doc_ids if d in self.stories}


FLOOD = Lookup({"d1": "flood", "d2": "flood", "d3": "flood", "x": "election"})


# --- the story ------------------------------------------------------------------------------------
def test_the_story_is_the_best_sentence_and_the_fitting_sentences_of_its_articles():
    best = ev("45 people died.", "d1", DAY1)
    same_doc = ev("The river burst its banks.", "d1", DAY1, score=0.5)
    newer = ev("The toll rose to 60.", "d2", DAY2)
    other = ev("60 votes were cast.", "x", DAY2)
    low = ev("The toll rose to 70.", "d3", DAY3, score=0.1)
    unfit = ev("The toll rose.", "d3", DAY3, fits=False)
    unknown = ev("The toll rose to 80.", "d3", DAY3, unknown=["Tarsin"])
    evidence = [best, same_doc, newer, other, low, unfit, unknown]
    lookup = Lookup(FLOOD.stories)
    assert same_story(evidence, lookup) == [best, same_doc, newer, low]
    assert lookup.asked == [["d1", "d2", "x", "d3"]]  # each document once
    assert [accepted(e, 0.3) for e in same_story(evidence, lookup)] == [True, True, True, False]
    # without stories, a document is its own story
    assert same_story(evidence, None) == [best, same_doc]
    # a document without a story shares one with nobody
    assert same_story(evidence, Lookup({"d2": "flood"})) == [best, same_doc]


def test_a_latest_question_leads_with_the_newest_article_and_supersedes_the_older():
    best = ev("45 people died, officials said.", "d1", DAY1)
    newest = ev("Rescuers are still searching.", "d3", DAY3, score=0.5)
    newer = ev("The river is falling.", "d2", DAY2, score=0.6)
    undated = ev("Dozens died.", "d4", None, score=0.7)
    other = ev("Other news.", "x", DAY3, score=0.2)
    evidence = [best, undated, newer, newest, other]
    reordered, superseded = newest_first(evidence, [best, undated, newer, newest], 0.3)
    assert reordered == [newest, best, undated, newer, other]
    assert superseded == [best, undated, newer]
    # the newest article's sentence must be one the reader accepts
    assert newest_first(evidence, [best, undated, newer, newest], 0.55)[0][0] is newer
    # nothing newer than the best, or an undated best: unchanged
    assert newest_first(evidence, [best, undated], 0.3) == (evidence, [])
    assert newest_first(evidence, [undated, best], 0.3) == (evidence, [])


# --- figure updates -------------------------------------------------------------------------------
def span(quote: str, words: str) -> tuple[int, int]:
    start = quote.index(words)
    return start, start + len(words)


def test_a_newer_figure_leads_and_the_earlier_is_given_with_its_date_and_citation():
    old = ev("45 people died in the floods.", "d1", DAY1)
    new = ev("However, the death toll rose to 60 on Tuesday.", "d2", DAY2, score=0.8)
    update = find_update(DIED, [old, new], 0.5)
    assert update is not None and (update.newest, update.earlier) == (new, old)
    answer, cited = compose(update)
    assert answer == (
        "The death toll rose to 60 on Tuesday [1]. That is up from 45 reported on 2 December [2]."
    )
    assert cited == [(1, new), (2, old)]
    assert update.reason.startswith("articles of the story give different figures (60 on 3 ")


def test_a_smaller_figure_is_down_and_a_year_apart_is_dated_with_the_year():
    old = ev("Officials said 60 people were killed.", "d1", "2023-12-30T10:00:00+00:00")
    new = ev("The toll was revised to 52.", "d2", "2024-01-02T10:00:00+00:00")
    answer, _ = compose(find_update(DIED, [new, old], 0.5))  # type: ignore[arg-type]
    assert answer.endswith("That is down from 60 reported on 30 December 2023 [2].")


def test_the_latest_earlier_figure_is_the_one_given():
    first = ev("Forty-five people died.", "d1", DAY1)
    second = ev("The toll rose to 52.", "d2", DAY2)
    third = ev("The toll rose to 60.", "d3", DAY3)
    same = ev("The toll is 60, officials said.", "d3", DAY3)
    update = find_update(DIED, [first, third, second, same], 0.5)
    assert update is not None and (update.newest, update.earlier) == (third, second)
    assert compose(update)[0].endswith("up from 52 reported on 3 December [2].")
    words = find_update(DIED, [first, third], 0.5)
    assert words is not None and "up from forty-five reported on 2 December" in compose(words)[0]


@pytest.mark.parametrize(
    ("question", "peers"),
    [
        # no newer article, or the same figure
        (DIED, [ev("45 people died.", "d1", DAY2), ev("The toll was 60.", "d2", DAY2)]),
        (DIED, [ev("45 people died.", "d1", DAY1), ev("The toll was 45.", "d2", DAY2)]),
        # undated
        (DIED, [ev("45 people died.", "d1", None), ev("The toll was 60.", "d2", DAY2)]),
        (DIED, [ev("45 people died.", "d1", DAY1), ev("The toll was 60.", "d2", None)]),
        # another thing
        (DIED, [ev("45 people died.", "d1", DAY1), ev("60 people were hurt.", "d2", DAY2)]),
        (DIED, [ev("45 soldiers died.", "d1", DAY1), ev("60 civilians died.", "d2", DAY2)]),
        # two values for it in one sentence, or the newest already gives the earlier
        (
            DIED,
            [
                ev("45 people died.", "d1", DAY1),
                ev("60 people died on Monday and 10 died on Tuesday.", "d2", DAY2),
            ],
        ),
        (DIED, [ev("45 people died.", "d1", DAY1), ev("The toll rose from 45 to 60.", "d2", DAY2)]),
        # the newest articles disagree
        (
            DIED,
            [
                ev("45 people died.", "d1", DAY1),
                ev("The toll was 60.", "d2", DAY2),
                ev("The toll was 70.", "d3", DAY2),
            ],
        ),
        # not a question for a quantity, and the reader's answer holds no number
        (
            "Where did the people die?",
            [ev("45 people died in Tarsin.", "d1", DAY1), ev("The toll was 60.", "d2", DAY2)],
        ),
        # the question asks for another kind than the sentence gives
        (
            "How many were injured?",
            [ev("45 people died.", "d1", DAY1), ev("The toll was 60.", "d2", DAY2)],
        ),
    ],
)
def test_no_update_unless_a_newer_article_gives_a_different_figure_for_the_same_thing(
    question, peers
):
    assert find_update(question, peers, 0.5) is None


def test_a_figure_of_a_unit_needs_the_reader_to_accept_its_sentence_an_event_does_not():
    old = ev("The new harbour cost 40 million euros, the port said.", "d1", DAY1)
    new = ev("The new harbour cost 52 million euros in the end.", "d2", DAY2, score=0.2)
    question = "How much did the new harbour cost?"
    assert find_update(question, [old, new], 0.5) is None
    assert find_update(question, [old, new], 0.1) is not None
    toll = ev("The death toll rose to 60.", "d2", DAY2, score=0.05)
    assert find_update(DIED, [ev("45 people died.", "d1", DAY1), toll], 0.5) is not None


def test_the_readers_short_answer_says_which_figure_the_sentence_answers_with():
    quote = "The blast killed 60 people and injured 45, police said."
    old = ev(quote, "d1", DAY1, span=span(quote, "45"))
    new = ev("The number of injured rose to 70.", "d2", DAY2)
    update = find_update("What did the police say about the blast?", [old, new], 0.5)
    assert update is not None and update.earlier_figure.text == "45"
    assert compose(update)[0].endswith("up from 45 reported on 2 December [2].")
    # a short answer without a number, for a question that asks for no quantity: no update
    no_number = ev(quote, "d1", DAY1, span=span(quote, "police"))
    assert find_update("Who spoke about the blast?", [no_number, new], 0.5) is None


# --- as_of ----------------------------------------------------------------------------------------
def test_as_of_becomes_published_before_in_utc_and_the_earlier_of_the_two_wins():
    plus2 = timezone(timedelta(hours=2))
    assert published_by(None, None) is None
    assert published_by(None, datetime(2024, 12, 2, 20, 0, tzinfo=plus2)) == Filters(
        published_before="2024-12-02T18:00:00+00:00"
    )
    naive = published_by(Filters(sources=("Wire",)), datetime(2024, 12, 2))
    assert naive == Filters(sources=("Wire",), published_before="2024-12-02T00:00:00+00:00")
    earlier = Filters(published_before="2024-12-01T00:00:00+00:00")
    assert published_by(earlier, datetime(2024, 12, 2, tzinfo=UTC)) == earlier
    request = AskRequest.model_validate(
        {"question": DIED, "as_of": "2024-12-02", "filters": {"published_before": "2024-12-05"}}
    )
    options = AskOptions.of(request)
    assert options.filters is not None
    assert options.filters.published_before == "2024-12-02T00:00:00+00:00"
    with pytest.raises(ValidationError, match="out of range in UTC"):
        AskRequest.model_validate({"question": DIED, "as_of": "0001-01-01T00:00:00+05:00"})
    later = request.model_copy(update={"filters": SearchFilters(published_before="2024-12-01")})
    assert AskOptions.of(later).filters.published_before == "2024-12-01T00:00:00+00:00"  # type: ignore[union-attr]


# --- through the answerer, with a scripted reader -------------------------------------------------
class NumberReader:
    """Accepts (0.9) the sentences that hold a digit, short answer: the first number."""

    name = "number-reader"
    threshold: float | None = 0.5

    def read(self, question, sentences, contexts=None):
        out = []
        for s in sentences:
            m = re.search(r"\d+", s)
            out.append(Reading(0.9 if m else 0.1, m.span() if m else None))
        return out


ARTICLES = [
    DocumentIn(id="d1", title="Floods in Tarsin", published_at="2024-12-02T09:00:00Z",
               source="Tarsin Times", text="45 people died in the Tarsin floods on Monday."),
    DocumentIn(id="d2", title="Tarsin floods: toll rises", published_at="2024-12-03T09:00:00Z",
               source="Wire", text="The death toll in the Tarsin floods rose to 60 on Tuesday."),
    DocumentIn(id="d3", title="Tarsin floods: rain", published_at="2024-12-03T12:00:00Z",
               text="The rain in Tarsin is easing, forecasters say now."),
]  # fmt: skip


def flood_service(tmp_path, generator=None, stories=FLOOD) -> QAService:
    settings = make_settings(tmp_path, reader_min_similarity=0.0)
    models = Models(embedder=FakeEmbedder(), generator=generator, reader=NumberReader())
    svc = QAService(settings, models)
    svc.answerer.stories = stories
    svc.ingest(ARTICLES)
    return svc


def test_the_answer_gives_the_newest_figure_and_cites_the_earlier_with_its_date(tmp_path):
    svc = flood_service(tmp_path)
    r = svc.ask(SO_FAR, AskOptions(mode="extractive"))
    assert r.answer == (
        "The death toll in the Tarsin floods rose to 60 on Tuesday [1]. "
        "That is up from 45 reported on 2 December [2]."
    )
    assert [(c.id, c.doc_id, c.published_at, c.source) for c in r.citations] == [
        (1, "d2", "2024-12-03T09:00:00+00:00", "Wire"),
        (2, "d1", "2024-12-02T09:00:00+00:00", "Tarsin Times"),
    ]
    assert r.grounding == "extractive" and r.fallback_reason is None
    assert r.short_answer is not None and r.short_answer.text == "60"
    # as of the first day, only the first article answers
    day1 = AskRequest(question=SO_FAR, mode="extractive", as_of=datetime(2024, 12, 2, 10))
    r1 = svc.ask(SO_FAR, AskOptions.of(day1))
    assert (
        [c.doc_id for c in r1.citations] == ["d1"] and "45" in r1.answer and "60" not in r1.answer
    )
    svc.close()


def test_without_stories_other_articles_are_other_stories(tmp_path):
    svc = flood_service(tmp_path, stories=None)
    r = svc.ask(DIED, AskOptions(mode="extractive"))
    assert "up from" not in r.answer and "down from" not in r.answer
    svc.close()


def test_a_generated_answer_gives_way_to_the_update_and_says_why(tmp_path):
    generator = ScriptedGenerator("60 people died.")
    svc = flood_service(tmp_path, generator)
    r = svc.ask(SO_FAR, AskOptions(mode="generative"))
    assert r.grounding == "extractive" and "up from 45 reported on 2 December [2]" in r.answer
    assert (
        r.fallback_reason is not None and "different figures (60 on 3 December" in r.fallback_reason
    )
    assert generator.prompts == []  # never asked
    events = list(svc.ask_events(SO_FAR, AskOptions(mode="generative")))
    assert [kind for kind, _ in events[:-1]] == ["delta"]  # type: ignore[misc]
    svc.close()
