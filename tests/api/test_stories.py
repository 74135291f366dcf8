"""Stories through HTTP on both backends (real embedding model): articles join stories as they
are ingested, leave them when deleted, keep them across a restart; bad input gets a 4xx."""

from __future__ import annotations

from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.models.loading import Models

QUAKE_1 = {
    "id": "quake-1",
    "title": "Earthquake kills 45 in Velmora",
    "source": "Coast Times",
    "published_at": "2025-03-03T08:00:00Z",
    "text": "A powerful earthquake struck the coastal city of Velmora on Monday, killing at least "
    "45 people, officials said.\nThe magnitude 6.8 quake hit at dawn and collapsed dozens of "
    "buildings in the old town.\nRescue teams from the Red Crescent searched the rubble.",
}
QUAKE_2 = {
    "id": "quake-2",
    "title": "Velmora quake toll rises to 60",
    "source": "Evening Post",
    "published_at": "2025-03-04T09:00:00Z",
    "text": "The death toll from the earthquake in Velmora rose to 60 on Tuesday, the interior "
    "ministry said.\nThe magnitude 6.8 quake hit at dawn on Monday and collapsed dozens of "
    "buildings in the old town.\nAid convoys from the capital reached the city overnight.",
}
CHESS = {
    "id": "chess",
    "title": "Chess champion keeps her title",
    "source": "Sports Desk",
    "published_at": "2025-03-04T12:00:00Z",
    "text": "The world chess champion kept her title in Oslo on Tuesday after a tense final "
    "game.\nShe won the match 7.5 to 6.5 against the challenger from Peru.",
}


def stories_of(c: TestClient) -> dict[str, list[str]]:
    body = c.get("/stories").json()
    return {s["title"]: [a["doc_id"] for a in s["articles"]] for s in body["stories"]}


def test_articles_join_leave_and_keep_their_stories(settings: Settings, models: Models) -> None:
    with TestClient(create_app(settings, models=models)) as c:
        assert c.get("/stories").json() == {
            "stories": [], "total": 0, "limit": 20, "offset": 0, "next_offset": None,
        }  # fmt: skip
        assert c.post("/documents", json={"documents": [QUAKE_1, CHESS]}).status_code == 200
        assert c.post("/documents", json={"documents": [QUAKE_2]}).status_code == 200
        assert stories_of(c) == {
            "Earthquake kills 45 in Velmora": ["quake-1", "quake-2"],
            "Chess champion keeps her title": ["chess"],
        }
        page = c.get("/stories", params={"limit": 1}).json()
        assert page["total"] == 2 and page["next_offset"] == 1 and len(page["stories"]) == 1
        # a new date moves the article (and the story's span), not its story
        moved = QUAKE_2 | {"published_at": "2025-03-05T09:00:00Z"}
        assert (
            c.post("/documents", json={"documents": [moved]}).json()["documents"][0]["status"]
            == "updated"
        )
        (quake,) = [s for s in c.get("/stories").json()["stories"] if len(s["articles"]) == 2]
        assert quake["last_published"].startswith("2025-03-05")
        assert c.delete("/documents/quake-1").status_code == 204
        assert stories_of(c) == {
            "Velmora quake toll rises to 60": ["quake-2"],
            "Chess champion keeps her title": ["chess"],
        }
    with TestClient(create_app(settings, models=models)) as c:  # a restart keeps them
        assert stories_of(c) == {
            "Velmora quake toll rises to 60": ["quake-2"],
            "Chess champion keeps her title": ["chess"],
        }
        assert c.delete("/documents/chess").status_code == 204
        assert list(stories_of(c)) == ["Velmora quake toll rises to 60"]


def test_bad_story_requests_get_a_clear_4xx(client: TestClient) -> None:
    assert client.get("/stories/none").status_code == 404
    assert client.get("/stories", params={"limit": 0}).status_code == 422
    assert client.get("/stories", params={"since": "soon"}).status_code == 422
    r = client.post("/digest", json={"since": "1x"})
    assert r.status_code == 422 and "RFC 3339" in r.json()["detail"]
    assert client.post("/digest", json={"since": "24h", "max_stories": 0}).status_code == 422
    assert client.post("/digest", json={"since": "24h", "extra": 1}).status_code == 422
    assert client.post("/digest", json={"since": "24h"}).json()["stories"] == []


def test_stories_off(settings: Settings, models: Models) -> None:
    off = settings.model_copy(update={"stories": False})
    with TestClient(create_app(off, models=models)) as c:
        assert c.post("/documents", json={"documents": [QUAKE_1]}).status_code == 200
        r = c.get("/stories")
        assert r.status_code == 404 and "QA_STORIES=false" in r.json()["detail"]
        assert c.post("/ask", json={"question": "How many people died in Velmora?"}).json()[
            "answerable"
        ]
