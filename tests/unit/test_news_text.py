"""News text: name variants, page furniture, answer types, and the gate that uses them."""

from __future__ import annotations

import pytest

from qa_service.answer.evidence import Evidence, Question, mark_names
from qa_service.answer.gate import Gate, decide
from qa_service.config import Settings
from qa_service.text.answer_types import expected_type, holds
from qa_service.text.furniture import dateline_length, is_furniture
from qa_service.text.grounding import Terms
from qa_service.text.variants import (
    align_question,
    countries_in,
    expansions,
    squash_acronyms,
    unknown_names,
)

ENVOY = "The fighting has displaced tens of thousands, according to Geir Pedersen, the U.N. envoy."


def _unknown(question: str, passage: str) -> list[str]:
    p = Terms.of(passage)
    return unknown_names(question, Terms.of(question).names, passage, p.vocabulary)


@pytest.mark.parametrize(
    ("question", "passage"),
    [
        ("Who is the UN envoy?", ENVOY),
        ("Who is the United Nations envoy?", ENVOY),
        ("What did the MoD say?", "The Ministry of Defence said the jets were grounded."),
        ("What did the NHS pay?", "The National Health Service paid for the trial."),
        ("Whose warplanes did Russia send?", "Government forces, supported by Russian airpower."),
        ("What did the Russians claim?", "Russia claimed the strikes hit rebels."),
        ("What did the UK decide?", "British ministers decided to wait."),
        ("What did the Americans do?", "The United States sent aid."),
    ],
)
def test_a_name_in_another_form_is_not_unknown(question: str, passage: str) -> None:
    assert _unknown(question, passage) == []


def test_a_name_in_no_form_stays_unknown() -> None:
    assert _unknown("What did the IMF say about Greece?", ENVOY) == ["greece", "imf"]
    # a country by another country's adjective is still another country
    assert _unknown("What did France send?", "German troops were sent.") == ["france"]


def test_acronyms_squash_and_initialisms_expand() -> None:
    assert squash_acronyms("the U.N. and U.S. envoys") == "the UN and US envoys"
    assert expansions("The Ministry of Defence and the International Organization for Migration")
    assert expansions("The Ministry of Defence said.") == {"MD": "Ministry of Defence"}
    found = countries_in("British and US troops, Russia's army, the Dutch")
    assert set(found) == {"united kingdom", "united states", "russia", "netherlands"}


def test_the_reader_reads_the_question_in_the_evidence_forms() -> None:
    assert align_question("Who is the UN envoy?", [ENVOY]) == "Who is the U.N. envoy?"
    assert (
        align_question("What did the United Nations envoy say?", [ENVOY])
        == "What did the U.N. envoy say?"
    )
    assert align_question("What did Russia's jets do?", ["Russian jets bombed it."]) == (
        "What did Russian jets do?"
    )
    # forms the evidence already uses are left alone
    assert align_question("Who is the U.N. envoy?", [ENVOY]) == "Who is the U.N. envoy?"
    assert align_question("Who is the UN envoy?", ["No match here."]) == "Who is the UN envoy?"


@pytest.mark.parametrize(
    "line",
    [
        "By Sam Webb",
        "By . Sam Webb and Ian Drury for MailOnline .",
        "By Daily Mail Reporter",
        "PUBLISHED: 12:31 EST, 14 March 2014 | UPDATED: 14:55 EST, 14 March 2014",
        "Scroll down for video",
        "Pictured: the scene after the crash",
        "This is the moment a whale leapt from the water",
        "Sterling (right) was pictured smoking a shisha pipe with Ibe",
        "Ibe was present among the Reds squad during their training session on Friday .",
    ],
)
def test_page_furniture_is_recognised(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "By mid-June there were more than half a million passports stuck in the system.",
        "Bystanders said the ship sank within minutes.",
        "The picture is clearer now, the minister said.",
        "Police said the man, pictured by witnesses as tall, fled.",
    ],
)
def test_story_sentences_are_not_furniture(line: str) -> None:
    assert not is_furniture(line)


def test_datelines_are_trimmed() -> None:
    assert dateline_length("(CNN)A gray whale swam 14,000 miles.") == len("(CNN)")
    line = "WASHINGTON (Reuters) - The U.S. said"
    assert line[dateline_length(line) :] == "The U.S. said"
    assert dateline_length("The U.S. said -- nothing") == 0
    assert dateline_length("A-Rod said he would return.") == 0


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is the name of the man who was arrested?", "name"),
        ("How many people died in the blast?", "quantity"),
        ("How long did the whale swim?", "quantity"),
        ("When did the harbour reopen?", "time"),
        ("In what year was it built?", "time"),
        ("Where did the whale go?", "place"),
        ("Which country's warplanes struck?", "place"),
        ("Who will direct the remake?", None),
        ("What did the minister say?", None),
    ],
)
def test_expected_answer_type(question: str, kind: str | None) -> None:
    assert expected_type(question) == kind


@pytest.mark.parametrize(
    ("question", "sentence", "ok"),
    [
        ("What is the name of the man who was arrested?", "A 30-year-old man was arrested.", False),
        ("What is the name of the man who was arrested?", "A man was arrested in Leeds.", False),
        ("What is the name of the man who was arrested?", "A Pennsylvania man was held.", False),
        ("What is the name of the man who was arrested?", "Police arrested John Smith.", True),
        (
            "What is the name of the judge who fined Stiviano?",
            "A Los Angeles judge fined V. Stiviano.",
            False,
        ),
        ("What is the name of the boy?", "A boy fell at the Cleveland Metroparks Zoo.", False),
        ("When did the boy fall?", "A two-year-old boy fell after his parents dangled him.", False),
        ("When did the boy fall?", "The boy fell on Saturday afternoon.", True),
        ("How many people died?", "People died in the blast.", False),
        ("How many people died?", "Dozens of people died.", True),
        ("How many people died?", "Twelve people died.", True),
        ("When did the whale leave?", "The whale left Russia.", False),
        ("When did the whale leave?", "The whale left in March.", True),
        ("Where did the whale go?", "The whale went swimming.", False),
        ("Where did the whale go?", "The whale went to Mexico.", True),
        ("Which country's warplanes struck?", "Russian warplanes struck.", True),
    ],
)
def test_a_sentence_holds_the_answer_type(question: str, sentence: str, ok: bool) -> None:
    kind = expected_type(question)
    assert kind is not None
    assert holds(kind, sentence, Terms.of(question)) is ok


def _evidence(quote: str, score: float, *, fits: bool = True) -> Evidence:
    return Evidence(
        doc_id="d", title="T", url=None, start=0, end=len(quote), quote=quote,
        chunk_text=quote, dense=0.6, score=score, fits=fits,
    )  # fmt: skip


def test_the_gate_refuses_evidence_without_the_kind_of_answer_asked_for() -> None:
    settings = Settings()
    q = Question.of("What is the name of the man who was arrested?", lambda _: {})
    ok = decide(q, [_evidence("Police arrested John Smith.", 0.8)], settings, 0.2)
    assert ok.answerable
    no = decide(q, [_evidence("A man was arrested.", 0.8, fits=False)], settings, 0.2)
    assert not no.answerable and "kind of answer" in no.reason


def _gate(question: str, evidence: list[Evidence]) -> Gate:
    mark_names(question, Terms.of(question), evidence)
    return decide(Question.of(question, lambda _: {}), evidence, Settings(), 0.2)


def test_the_gate_takes_an_acronym_in_another_form_as_known() -> None:
    gate = _gate("Who is the UN envoy?", [_evidence(ENVOY, 0.3)])
    assert gate.unknown_names == [] and gate.answerable
    gate = _gate("Who is the IMF envoy?", [_evidence(ENVOY, 0.3)])
    assert gate.unknown_names == ["imf"] and not gate.answerable  # 0.3 < the 0.5 for unknown names


def test_names_count_anywhere_in_the_retrieved_chunks_of_the_document() -> None:
    later = _evidence("The full back signed a three-year contract last July.", 0.6)
    earlier = _evidence("Filipe Luis insists he wants to stay at Chelsea.", 0.1)
    earlier.chunk_text = "Filipe Luis insists he wants to stay at Chelsea."
    gate = _gate("How long is Filipe Luis's contract at Chelsea?", [later, earlier])
    assert gate.unknown_names == [] and gate.answerable
    other = _evidence("He signed a three-year contract.", 0.4)  # < 0.5 for unknown names
    other.doc_id = "another-article"
    gate = _gate("How long is Filipe Luis's contract at Chelsea?", [other, earlier])
    assert gate.unknown_names == ["chelsea", "filipe", "luis"] and not gate.answerable
