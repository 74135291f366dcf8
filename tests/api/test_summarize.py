"""POST /summarize through HTTP with the real models."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from qa_service.text.grounding import check_claims


def ingest(client: TestClient, **docs: str) -> None:
    payload = {"documents": [{"id": k, "text": v} for k, v in docs.items()]}
    assert client.post("/documents", json=payload).status_code == 200


def assert_exact(client: TestClient, body: dict) -> None:
    for s in body["sentences"]:
        assert s["citations"]
        for c in s["citations"]:
            text = client.get(f"/documents/{c['doc_id']}").json()["text"]
            assert text[c["start"] : c["end"]] == c["quote"]


@pytest.fixture(scope="module")
def seeded(shared_client: TestClient, seed_text: str) -> TestClient:
    """The seed article as "syria", ingested once per backend, for the tests that only read."""
    ingest(shared_client, syria=seed_text)
    return shared_client


def test_three_sentence_summary_of_the_seed_article(seeded):
    client = seeded
    r = client.post("/summarize", json={"doc_id": "syria"})
    assert r.status_code == 200
    body = r.json()
    assert len(body["sentences"]) == 3 and body["mode"] == "extractive"
    assert body["doc_ids"] == ["syria"]
    assert body["summary"] == " ".join(s["text"] for s in body["sentences"])
    assert_exact(client, body)
    starts = [s["citations"][0]["start"] for s in body["sentences"]]
    assert starts == sorted(starts)  # article order
    for s in body["sentences"]:
        assert s["text"] == s["citations"][0]["quote"]  # whole sentences, never cut
    again = client.post("/summarize", json={"doc_id": "syria"}).json()
    assert again["cached"] is True and again["sentences"] == body["sentences"]


def test_near_duplicate_articles_yield_no_repeated_sentence(client, seed_text):
    copy = seed_text.replace("Syria claimed that", "Damascus said on Tuesday that", 1).replace(
        "12 miles", "about 12 miles"
    )
    ingest(client, ap=seed_text, wire=copy)
    body = client.post("/summarize", json={"doc_ids": ["ap", "wire"], "max_sentences": 5}).json()
    assert_exact(client, body)
    texts = [s["text"] for s in body["sentences"]]
    assert len(texts) == 5 and len(set(texts)) == len(texts)
    # no two sentences of the summary are the same sentence from the two copies
    quotes = [c["quote"] for s in body["sentences"] for c in s["citations"][:1]]
    assert len({q[-60:] for q in quotes}) == len(quotes)
    # a sentence both copies carry cites both
    assert any({c["doc_id"] for c in s["citations"]} == {"ap", "wire"} for s in body["sentences"])


def test_an_updated_article_gets_a_fresh_summary(client, seed_text):
    ingest(client, syria=seed_text)
    before = client.post("/summarize", json={"doc_id": "syria", "max_sentences": 2}).json()
    first = before["sentences"][0]["text"]
    ingest(client, syria=seed_text.replace(first, "Officials announced an immediate ceasefire in "
                                            "Hama province on Wednesday morning."))  # fmt: skip
    after = client.post("/summarize", json={"doc_id": "syria", "max_sentences": 2}).json()
    assert after["cached"] is False and after["sentences"] != before["sentences"]
    assert_exact(client, after)


def test_adhoc_text_offsets_point_into_the_given_text(seeded, seed_text):
    text = "Preface line without a period\n" + seed_text
    body = seeded.post("/summarize", json={"text": text, "max_sentences": 2}).json()
    assert body["doc_ids"] == [] and len(body["sentences"]) == 2
    for s in body["sentences"]:
        c = s["citations"][0]
        assert c["doc_id"] is None and text[c["start"] : c["end"]] == c["quote"]


def test_query_summarizes_what_it_finds(client, seed_text):
    ingest(
        client, syria=seed_text, other="The harbour reopened on Monday after repairs to the pier."
    )
    body = client.post("/summarize", json={"query": "Assad and Turkey", "top_k": 2}).json()
    assert "syria" in body["doc_ids"] and body["sentences"]
    assert_exact(client, body)


def test_streaming_sends_sentences_then_summary(seeded):
    events, kind = [], None
    with seeded.stream("POST", "/summarize", json={"doc_id": "syria", "stream": True}) as r:
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((kind, json.loads(line.split(":", 1)[1])))
    kinds = [k for k, _ in events]
    assert kinds == ["delta"] * 3 + ["summary", "done"]
    assert "".join(d["text"] for k, d in events if k == "delta") == events[3][1]["summary"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({}, 422),
        ({"doc_id": "syria", "text": "two sources"}, 422),
        ({"doc_id": "missing"}, 404),
        ({"doc_ids": ["syria", "missing"]}, 404),
        ({"text": "   "}, 422),
        ({"text": ""}, 422),
        ({"doc_id": "syria", "max_sentences": 0}, 422),
        ({"doc_id": "syria", "max_sentences": 21}, 422),
        ({"doc_id": "syria", "filters": {"source": "ap"}}, 422),
        ({"doc_ids": []}, 422),
        ({"doc_id": "syria", "mode": "poem"}, 422),
    ],
)
def test_bad_requests(seeded, payload, status):
    r = seeded.post("/summarize", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status and r.json()["detail"]


def test_too_many_documents_names_the_limit(settings, models, seed_text):
    from qa_service.api import create_app

    tight = settings.model_copy(update={"max_summary_docs": 2})
    with TestClient(create_app(tight, models=models)) as c:
        ingest(c, a=seed_text, b=seed_text + " More.", d="Third one here now.")
        r = c.post("/summarize", json={"doc_ids": ["a", "b", "d"]})
        assert r.status_code == 422 and r.json()["limit"] == 2


@pytest.mark.slow
def test_abstractive_rewrites_are_verified_or_fall_back(client, seed_text):
    ingest(client, syria=seed_text)
    body = client.post("/summarize", json={"doc_id": "syria", "mode": "abstractive"}).json()
    assert len(body["sentences"]) == 3
    assert_exact(client, body)
    for s in body["sentences"]:
        quote = s["citations"][0]["quote"]
        if s["rewritten"]:
            assert check_claims(s["text"], [quote]).ok and len(s["text"]) < len(quote)
        else:
            assert s["text"] == quote
    assert body["mode"] == ("abstractive" if any(s["rewritten"] for s in body["sentences"])
                            else "extractive")  # fmt: skip


def test_instructions_inside_articles_change_nothing(settings, models, seed_text):
    """An article that talks to the model: none of its sentences is picked or reaches a prompt."""
    from qa_service.api import create_app
    from qa_service.models.loading import Models
    from tests.api.test_ask import INJECTION
    from tests.conftest import ScriptedGenerator

    gen = ScriptedGenerator("Syria said insurgents retreated from Hama.\n")
    with TestClient(create_app(settings, models=Models(models.embedder, gen, models.reader))) as c:
        ingest(c, syria=seed_text + "\n" + INJECTION, evil=INJECTION)
        for payload in (
            {"doc_id": "syria", "max_sentences": 5},
            {"doc_ids": ["syria", "evil"], "mode": "abstractive"},
            {"query": "Assad Turkey precondition HACKED"},
            {"text": INJECTION + "\n" + seed_text},
        ):
            r = c.post("/summarize", json=payload)
            assert r.status_code == 200, (payload, r.text)
            body = r.json()
            assert body["sentences"], payload
            assert "HACKED" not in body["summary"] and "Ignore all" not in body["summary"]
            assert all(c["doc_id"] != "evil" for s in body["sentences"] for c in s["citations"])
    assert gen.prompts and all("HACKED" not in p and "Ignore all" not in p for p in gen.prompts)
