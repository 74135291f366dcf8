"""Figures in news sentences and whether two count the same thing (``text/measures.py``)."""

from __future__ import annotations

import pytest

from qa_service.text.measures import asked_kinds, figures_in, same_thing


def described(sentence: str) -> list[tuple[str, float, str, str | None]]:
    return [(f.text, f.value, f.kind, f.noun) for f in figures_in(sentence)]


@pytest.mark.parametrize(
    ("sentence", "figures"),
    [
        ("45 people died in the floods on Monday.", [("45", 45, "dead", "people")]),
        ("The death toll from the floods rose to 60 on Tuesday.", [("60", 60, "dead", None)]),
        ("The toll stands at 60.", [("60", 60, "dead", None)]),
        ("The death toll in the Tarsin floods rose to 60.", [("60", 60, "dead", None)]),
        ("At least 60 dead, officials said.", [("60", 60, "dead", None)]),
        ("Forty-five soldiers were killed.", [("Forty-five", 45, "dead", "soldiers")]),
        (
            "The blast killed at least 60 people and injured 45.",
            [("60", 60, "dead", "people"), ("45", 45, "injured", None)],
        ),
        (
            "About 1,200 people were evacuated and 3 are missing.",
            [("1,200", 1200, "evacuated", "people"), ("3", 3, "missing", None)],
        ),
        (
            "Police arrested 12 people after 45 died.",
            [("12", 12, "arrested", "people"), ("45", 45, "dead", None)],
        ),
        ("The harbour cost 40 million euros.", [("40 million", 40e6, "euros", None)]),
        ("He paid $3.5 billion for it.", [("$3.5 billion", 3.5e9, "dollar", None)]),
        ("The toll road cost €40m.", [("€40m", 40e6, "euro", None)]),
        ("Unemployment rose to 5.2% in November.", [("5.2%", 5.2, "percent", None)]),
    ],
)
def test_figures_and_what_they_count(sentence, figures):
    assert described(sentence) == figures


@pytest.mark.parametrize(
    "sentence",
    [
        "The harbour was rebuilt in 2019.",
        "The talks resume on 2 December at 10.30pm.",
        "They met on December 2.",
        "A 45-year-old man was arrested after a five-day search.",
        "One of the victims was named.",
        "12 of the 40 passengers were rescued.",
        "She came 2nd.",
        "No one died.",
    ],
)
def test_numbers_that_count_nothing_nameable_are_not_figures(sentence):
    assert figures_in(sentence) == []


def test_the_kinds_a_question_names():
    assert asked_kinds("How many people have died so far?") == {"dead"}
    assert asked_kinds("How many were killed or injured?") == {"dead", "injured"}
    assert asked_kinds("How much did the harbour cost?") == frozenset()


def first(sentence: str):
    (figure, *_) = figures_in(sentence)
    return figure, sentence


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("45 people died in the floods.", "The death toll rose to 60.", True),
        ("45 people died in the floods.", "60 people have been killed, officials said.", True),
        ("Forty-five soldiers were killed.", "60 soldiers have now died.", True),
        # who is counted differs, or what
        ("45 soldiers were killed.", "60 civilians were killed.", False),
        ("45 people died in the floods.", "60 people were injured.", False),
        ("45 people died in the floods.", "60 people were evacuated.", False),
        # a unit alone needs two more words in common
        ("The new harbour cost 40 million euros.", "The bridge cost 30 million euros.", False),
        ("The new harbour cost 40 million euros.", "The new harbour cost 52 million euros.", True),
        ("The harbour cost 40 million euros.", "The harbour cost $52 million in all.", False),
    ],
)
def test_same_thing(a, b, same):
    assert same_thing(*first(a), *first(b)) is same
    assert same_thing(*first(b), *first(a)) is same
