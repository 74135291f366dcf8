"""Time-aware answers through HTTP, with the real models and the real stories: a figure that a
newer article of the story changed, ``as_of``, and the date and outlet of every citation; on
/ask and /v1/chat/completions."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

SO_FAR = "How many people have died so far?"
ARTICLES = [
    {
        "id": "tarsin-floods-1",
        "title": "Floods kill 45 in Tarsin",
        "source": "Tarsin Times",
        "published_at": "2024-12-02T08:00:00Z",
        "text": "Flash floods swept through the river town of Tarsin on Monday. "
        "45 people died in the floods, the regional governor Mara Okonjo said. "
        "Rescue teams from the Red Crescent searched collapsed homes along the Selva river. "
        "Hundreds of residents spent the night in schools.",
    },
    {
        "id": "tarsin-floods-2",
        "title": "Tarsin flood toll rises to 60",
        "source": "Wire",
        "published_at": "2024-12-03T08:00:00Z",
        "text": "Rescue teams in Tarsin searched collapsed homes along the Selva river again on "
        "Tuesday. The death toll from the floods rose to 60, the regional governor Mara Okonjo "
        "said. The Red Crescent said hundreds of residents were still sleeping in schools.",
    },
    {
        "id": "velin-harbour",
        "title": "Velin harbour reopens",
        "source": "Coast News",
        "published_at": "2024-12-03T10:00:00Z",
        "text": "The harbour of Velin reopened on Tuesday after two years of work. "
        "The new harbour cost 40 million euros, paid by the port authority.",
    },
]


@pytest.fixture(scope="module")
def seeded(shared_client: TestClient) -> TestClient:
    r = shared_client.post("/documents", json={"documents": ARTICLES})
    assert r.status_code == 200, r.text
    return shared_client


def test_a_newer_figure_leads_and_the_earlier_is_cited_with_its_date(seeded):
    r = seeded.post("/ask", json={"question": SO_FAR, "mode": "extractive"})
    assert r.status_code == 200
    body = r.json()
    assert body["answerable"] is True, body
    assert body["answer"].startswith("The death toll from the floods rose to 60"), body["answer"]
    assert body["answer"].endswith("That is up from 45 reported on 2 December [2].")
    cited = [(c["id"], c["doc_id"], c["published_at"], c["source"]) for c in body["citations"]]
    assert cited == [
        (1, "tarsin-floods-2", "2024-12-03T08:00:00+00:00", "Wire"),
        (2, "tarsin-floods-1", "2024-12-02T08:00:00+00:00", "Tarsin Times"),
    ]
    for c in body["citations"]:
        text = seeded.get(f"/documents/{c['doc_id']}").json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]
    assert {int(m) for m in re.findall(r"\[(\d+)\]", body["answer"])} == {1, 2}


def test_as_of_the_first_day_only_its_figure_is_read(seeded):
    r = seeded.post(
        "/ask", json={"question": SO_FAR, "mode": "extractive", "as_of": "2024-12-02T20:00:00Z"}
    )
    assert r.status_code == 200
    body = r.json()
    assert body["answerable"] is True, body
    assert "45" in body["answer"] and "60" not in body["answer"]
    assert {c["doc_id"] for c in body["citations"]} == {"tarsin-floods-1"}
    assert body["citations"][0]["published_at"] == "2024-12-02T08:00:00+00:00"
    before_all = seeded.post("/ask", json={"question": SO_FAR, "as_of": "2024-11-30"})
    assert before_all.json()["answerable"] is False
    bad = seeded.post("/ask", json={"question": SO_FAR, "as_of": "last week"})
    assert bad.status_code == 422


def test_chat_completions_give_the_update_its_sources_dates_and_take_as_of(seeded):
    ask = {"model": "qa-service", "messages": [{"role": "user", "content": SO_FAR}]}
    r = seeded.post("/v1/chat/completions", json=ask)
    assert r.status_code == 200
    content = r.json()["choices"][0]["message"]["content"]
    assert "rose to 60" in content and "up from 45 reported on 2 December [2]" in content
    assert "[1] Tarsin flood toll rises to 60, Wire, 3 December 2024:" in content
    assert "[2] Floods kill 45 in Tarsin, Tarsin Times, 2 December 2024:" in content
    assert [c["source"] for c in r.json()["citations"]] == ["Wire", "Tarsin Times"]
    day1 = seeded.post("/v1/chat/completions", json=ask | {"as_of": "2024-12-02T20:00:00Z"})
    assert day1.status_code == 200
    content = day1.json()["choices"][0]["message"]["content"]
    assert "45" in content and "rose to 60" not in content
