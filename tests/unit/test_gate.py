"""The abstention gate (``answer/gate.py``) and rank fusion (``storage/fusion.py``) on tiny
inputs, no models: each check of the gate refuses for its own reason."""

from __future__ import annotations

import pytest

from qa_service.answer.evidence import Evidence, Question
from qa_service.answer.gate import decide
from qa_service.config import Settings
from qa_service.storage.fusion import bm25_idf, rrf_fuse

QUESTION = Question.of(
    "What is Assad's precondition for normalizing ties with Turkey?", lambda _: {}
)
CHUNK = (
    "Assad has insisted that Turkish military withdrawal from northern Syria be a precondition "
    "for any normalization of ties between the two nations."
)
SETTINGS = Settings(reader_threshold_unknown_name=0.6)
THRESHOLD = 0.2


def best(**kw) -> Evidence:
    fields = {"doc_id": "syria", "title": "Syria and Turkey", "url": None, "start": 0,
              "end": len(CHUNK), "quote": CHUNK, "chunk_text": CHUNK, "dense": 0.7,
              "lexical": 0.8, "score": 0.9}  # fmt: skip
    return Evidence(**(fields | kw))


@pytest.mark.parametrize(
    ("change", "answerable", "reason"),
    [
        ({}, True, "ok"),
        ({"score": 0.1}, False, "reader's best score 0.10 < 0.20"),
        ({"fits": False}, False, "kind of answer"),
        ({"dense": 0.2}, False, "similarity 0.20 < 0.35"),
        ({"unknown": ["Erdogan"], "score": 0.5}, False, "no passage mentions Erdogan"),
        ({"unknown": ["Erdogan"], "score": 0.7}, True, "ok"),
    ],
)
def test_with_a_reader_each_check_refuses_for_its_own_reason(change, answerable, reason):
    gate = decide(QUESTION, [best(**change)], SETTINGS, THRESHOLD)
    assert gate.answerable is answerable and reason in gate.reason
    assert gate.best_reader == best(**change).score


def test_without_a_reader_similarity_coverage_and_names_decide():
    ok = decide(QUESTION, [best()], SETTINGS, None)
    assert ok.answerable and ok.best_reader is None and ok.context_coverage > 0.5
    far = decide(QUESTION, [best(dense=0.05)], SETTINGS, None)
    assert not far.answerable and "similarity" in far.reason
    other = best(chunk_text="Floods closed the harbour.", title="Weather", quote="Floods.")
    thin = decide(QUESTION, [other], SETTINGS, None)
    assert not thin.answerable and "covers" in thin.reason
    assert decide(QUESTION, [], SETTINGS, THRESHOLD).reason == "no evidence"


def test_the_gate_reads_only_the_best_sentence():
    runner_up = best(score=0.05, dense=-1.0, fits=False)
    assert decide(QUESTION, [best(), runner_up], SETTINGS, THRESHOLD).answerable


def test_rrf_rewards_agreement_and_breaks_ties_by_id():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7)]
    keyword = [(3, 9.0), (1, 5.0)]
    fused = rrf_fuse([dense, keyword], k=60)
    assert [cid for cid, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert rrf_fuse([[(5, 1.0)], [(4, 1.0)]], k=60) == [(4, 1 / 61), (5, 1 / 61)]


def test_bm25_idf_falls_as_a_term_spreads():
    assert bm25_idf(100, 1) > bm25_idf(100, 10) > bm25_idf(100, 100) > 0
