"""The shipped reader through HTTP: which sentence answers, whether any does, the short answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.models.loading import Models
from tests.conftest import ROOT, ScriptedGenerator, make_settings

FIXTURE = json.loads((Path(__file__).parents[1] / "data" / "sample_questions.json").read_text())
QUESTIONS = [
    pytest.param(
        q["q"],
        q["expect"],
        id=q["q"],
        marks=[pytest.mark.xfail(strict=True, reason=q["known_miss"])] if "known_miss" in q else [],
    )
    for q in FIXTURE["questions"]
]
TITLE = "Syria says counteroffensive pushed back insurgents"


def _seed(c: TestClient, text: str) -> None:
    doc = {"id": "syria", "title": TITLE, "text": text}
    assert c.post("/documents", json={"documents": [doc]}).status_code == 200


@pytest.fixture(scope="module")
def client(models: Models, seed_text: str, tmp_path_factory) -> Iterator[TestClient]:
    """One app for the module: these tests only read."""
    assert models.reader is not None, "the reader ships in models/reader"
    settings = make_settings(tmp_path_factory.mktemp("reader") / "data")
    with TestClient(create_app(settings, models=models)) as c:
        _seed(c, seed_text)
        yield c


@pytest.mark.parametrize(("question", "expect"), QUESTIONS)
def test_sample_questions_are_answered_or_abstained_right(client, question, expect):
    body = client.post("/ask", json={"question": question, "mode": "extractive"}).json()
    if expect is None:
        assert body["answerable"] is False, body["answer"]
        assert body["citations"] == []
    else:
        assert body["answerable"] is True, (body["answer"], body["related"])
        assert expect in body["citations"][0]["quote"], body["citations"][0]["quote"]
        assert body["model"]["reader"]


@pytest.mark.parametrize("mode", ["extractive", "auto", "generative"])
def test_flagship_question_cites_the_withdrawal_sentence_in_every_mode(client, mode):
    q = "What is Assad's precondition for normalization with Turkey?"
    body = client.post("/ask", json={"question": q, "mode": mode}).json()
    assert body["answerable"] is True
    assert "Turkish military withdrawal from northern Syria" in body["citations"][0]["quote"]


def test_short_answer_is_an_exact_span_inside_the_first_citation(client):
    body = client.post(
        "/ask", json={"question": "How far did the insurgents retreat from Hama?"}
    ).json()
    short = body["short_answer"]
    assert short is not None and "12" in short["text"]
    cited = body["citations"][short["citation"] - 1]
    text = client.get("/documents/syria").json()["text"]
    assert text[short["start"] : short["end"]] == short["text"]
    assert cited["start"] <= short["start"] < short["end"] <= cited["end"]


def test_auto_mode_is_extractive_with_the_base_generator(client):
    listed = client.get("/v1/models").json()
    body = client.post("/ask", json={"question": "Which group leads the insurgency?"}).json()
    if body["model"]["generator"] is None:
        pytest.skip("no generator prepared")
    assert body["model"]["auto_mode"] == "extractive"
    assert body["grounding"] == "extractive"
    assert all(m["qa_service"]["auto_mode"] == "extractive" for m in listed["data"])


def test_a_number_in_words_is_never_answered_with_another_number(models, seed_text, tmp_path):
    """The article says "half-a-million"; a generator that says 1,000,000 is rejected."""
    app = create_app(
        make_settings(tmp_path / "data"),
        models=Models(models.embedder, ScriptedGenerator("1,000,000 [1]\n"), models.reader),
    )
    with TestClient(app) as c:
        _seed(c, seed_text)
        q = {"question": "How many lives has the conflict claimed?", "mode": "generative"}
        body = c.post("/ask", json=q).json()
    assert "1,000,000" not in body["answer"] and "1000000" not in body["answer"]
    assert body["grounding"] == "extractive" and "1000000" in body["fallback_reason"]
    assert "half-a-million" in body["answer"]


def test_reader_can_be_turned_off(models, seed_text, tmp_path):
    settings = make_settings(tmp_path / "data", reader="none")
    app = create_app(settings, models=Models(models.embedder, models.generator, None))
    with TestClient(app) as c:
        _seed(c, seed_text)
        body = c.post(
            "/ask",
            json={"question": "What is Assad's precondition for normalizing ties with Turkey?"},
        ).json()
    assert body["model"]["reader"] is None
    assert body["answerable"] is True


def test_the_shipped_reader_has_a_model_card_and_a_calibrated_threshold():
    folder = ROOT / "models" / "reader"
    meta = json.loads((folder / "reader.json").read_text())
    assert 0 < meta["threshold"] < 1 and meta["calibration"]["test"]
    card = (folder / "README.md").read_text()
    assert "CC BY-SA 4.0" in card and "Apache-2.0" in card
    assert (folder / "model.onnx").stat().st_size < 40_000_000


def test_gate_settings_decide_unknown_names_and_runner_up_citations(models, seed_text, tmp_path):
    """The article never names the European Union: its best sentence (about aid in general)
    must clear QA_READER_THRESHOLD_UNKNOWN_NAME; QA_READER_RUNNER_UP_RATIO decides whether the
    runner-up sentence is cited too."""
    eu = {"question": "How much aid has the European Union pledged to Syria?", "mode": "extractive"}
    flagship = {"question": "What is Assad's precondition for normalization with Turkey?"}
    bodies = {}
    for name, overrides in {
        "lenient": {"reader_threshold_unknown_name": 0.0, "reader_runner_up_ratio": 0.0},
        "strict": {"reader_threshold_unknown_name": 0.99, "reader_runner_up_ratio": 1.0},
    }.items():
        settings = make_settings(tmp_path / name, **overrides)
        with TestClient(create_app(settings, models=models)) as c:
            _seed(c, seed_text)
            bodies[name] = (c.post("/ask", json=eu).json(), c.post("/ask", json=flagship).json())
    assert bodies["lenient"][0]["answerable"] is True
    assert bodies["strict"][0]["answerable"] is False and bodies["strict"][0]["citations"] == []
    lenient, strict = bodies["lenient"][1], bodies["strict"][1]
    assert len(strict["citations"]) == 1 and len(lenient["citations"]) >= 2
    assert lenient["citations"][0] == strict["citations"][0]
