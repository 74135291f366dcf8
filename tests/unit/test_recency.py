"""Questions about the latest state of a story, and dates as answers say them
(``text/recency.py``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qa_service.text.recency import asks_latest, day_text, parse_time


@pytest.mark.parametrize(
    "question",
    [
        "How many people have died so far?",
        "What is the latest death toll?",
        "Who is now in charge of the port?",
        "Who is in charge now?",
        "Is the airport still closed?",
        "How many people are currently missing?",
        "What is the current death toll?",
        "What is the most recent figure for the damage?",
        "How many arrests have been made to date?",
        "How many have been arrested to date?",
        "Give me an up to date count of the injured.",
        "Has anyone been charged yet?",
        "How many homes are without power right now?",
        "What is the updated toll?",
        "How many people have died thus far?",
    ],
)
def test_questions_about_the_latest_state(question):
    assert asks_latest(question)


@pytest.mark.parametrize(
    "question",
    [
        "How many people died in the floods?",
        "Now that the talks have failed, what will Turkey do?",
        "What must be delivered by Friday at the latest?",
        "What did the minister say every now and then?",
        "What will change from now on?",
        "Which now-defunct party did he lead?",
        "How did the boy get so far from home?",
        "Was she willing to date him?",
        "Who was swept away by the strong current?",
        "What is the current account deficit?",
        "Why did the soldiers stand still?",
        "Who painted the still life?",
        "Why was there yet another delay?",
        "When was the harbour rebuilt?",
    ],
)
def test_the_same_words_in_another_sense_or_none_at_all(question):
    assert not asks_latest(question)


def test_days_read_as_an_answer_says_them_with_the_year_only_when_it_differs():
    dec2 = datetime(2024, 12, 2, 15, 30, tzinfo=UTC)
    assert day_text(dec2, datetime(2024, 12, 3, tzinfo=UTC)) == "2 December"
    assert day_text(dec2, datetime(2025, 1, 3, tzinfo=UTC)) == "2 December 2024"
    assert day_text(dec2) == "2 December 2024"


def test_stored_times_are_read_back_and_bad_ones_are_none():
    assert parse_time("2024-12-02T00:00:00+00:00") == datetime(2024, 12, 2, tzinfo=UTC)
    assert parse_time(None) is None and parse_time("") is None
    assert parse_time("yesterday") is None
