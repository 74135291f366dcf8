"""Stories end to end: a local news server publishes one story over three days from two outlets
(a wire copy, an update with a new figure, a follow-up) beside an unrelated story; the real app
(real embedding model and reader) ingests the pages and groups, times and digests them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa_service.api import create_app
from qa_service.cli.main import app as cli
from qa_service.models.loading import Models
from tests.e2e.test_feeds import settings_for
from tests.support.newsroom import STORIES, NewsServer, article_page, news_server

DAY1 = [
    "A powerful earthquake struck the coastal city of Velmora on Monday, killing at least 45 "
    "people, officials said.",
    "The magnitude 6.8 quake hit at dawn and collapsed dozens of buildings in the old town.",
    "Rescue teams from the Red Crescent searched the rubble through the night.",
]
DAY2 = [
    "The death toll from the earthquake in Velmora rose to 60 on Tuesday, the interior ministry "
    "said.",
    "The magnitude 6.8 quake hit at dawn on Monday and collapsed dozens of buildings in the old "
    "town.",
    "Aid convoys from the capital reached the city overnight.",
]
DAY3 = [  # a follow-up: its news first, then background the story told before
    "The government pledged 200 million euros on Wednesday to rebuild Velmora after the "
    "earthquake.",
    "The death toll from the earthquake in Velmora rose to 60 on Tuesday.",
    "Rescue teams from the Red Crescent searched the rubble of the old town for a third day.",
    "The magnitude 6.8 quake struck Velmora at dawn on Monday and collapsed dozens of buildings "
    "in the old town.",
    "Schools in the region will reopen next week, the education minister said.",
]
PAGES = {
    "/times/quake-1": ("Earthquake kills 45 in Velmora", DAY1, "Coast Times", "2025-03-03"),
    # the same article, word for word, on the other outlet's site: a wire copy
    "/post/quake-1": ("Earthquake kills 45 in Velmora", DAY1, "Evening Post", "2025-03-03"),
    "/post/quake-2": ("Velmora quake toll rises to 60", DAY2, "Evening Post", "2025-03-04"),
    "/times/quake-3": ("Velmora to be rebuilt after earthquake", DAY3, "Coast Times", "2025-03-05"),
    "/times/glacier": (*STORIES["glacier"], "Coast Times", "2025-03-04"),
}


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsServer]:
    with news_server() as s:
        for path, (title, paragraphs, site, date) in PAGES.items():
            s.set_page(path, article_page(title, paragraphs, site=site, date=date))
        yield s


@pytest.fixture(scope="module")
def client(
    newsroom: NewsServer, models: Models, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    settings = settings_for(tmp_path_factory.mktemp("stories"), feed_polling=False)
    with TestClient(create_app(settings, models=models)) as c:
        urls = [newsroom.url(p) for p in PAGES]
        r = c.post("/documents/urls", json={"urls": urls})
        assert r.status_code == 200, r.text
        assert [x["status"] for x in r.json()["results"]] == [
            "created", "unchanged", "created", "created", "created",
        ]  # fmt: skip
        yield c


def quake(client: TestClient) -> dict:
    stories = client.get("/stories").json()["stories"]
    (story,) = [s for s in stories if "Velmora" in (s["title"] or "")]
    return story


def test_one_story_per_event_with_every_outlets_copy(client: TestClient, newsroom) -> None:
    body = client.get("/stories").json()
    assert body["total"] == 2
    story = quake(client)
    assert story["title"] == "Earthquake kills 45 in Velmora"
    urls = [a["url"] for a in story["articles"]]
    assert urls == [newsroom.url(p) for p in ("/times/quake-1", "/post/quake-1",
                                               "/post/quake-2", "/times/quake-3")]  # fmt: skip
    copy = story["articles"][1]
    assert copy["copy_of_stored"] and copy["source"] == "Evening Post"
    assert copy["doc_id"] == story["articles"][0]["doc_id"]
    assert story["sources"] == ["Coast Times", "Evening Post"]
    assert story["first_published"].startswith("2025-03-03")
    assert story["last_published"].startswith("2025-03-05")
    # newest first: the quake story's last article (day 3) is newer than the glacier's (day 2)
    assert body["stories"][0]["id"] == story["id"]
    only_post = client.get("/stories", params={"source": "Evening Post"}).json()
    assert [s["id"] for s in only_post["stories"]] == [story["id"]]
    later = client.get("/stories", params={"since": "2025-03-05T00:00:00Z"}).json()
    assert [s["id"] for s in later["stories"]] == [story["id"]]


def test_the_timeline_gives_each_development_once_in_date_order(client: TestClient) -> None:
    story = quake(client)
    detail = client.get(f"/stories/{story['id']}").json()
    quotes = [t["quote"] for t in detail["timeline"]]
    dates = [t["published_at"] for t in detail["timeline"]]
    assert dates == sorted(dates)
    assert quotes[0] == DAY1[0]
    assert DAY2[0] in quotes and DAY3[0] in quotes
    assert DAY2[1] not in quotes  # the day-1 background, told again
    assert DAY3[1] not in quotes  # the day-2 figure, told again
    assert DAY3[3] not in quotes  # the day-1 background, told again
    assert quotes.index(DAY2[0]) < quotes.index(DAY3[0])
    for t in detail["timeline"]:  # every development is an exact span of its article
        text = client.get(f"/documents/{t['doc_id']}").json()["text"]
        assert text[t["start"] : t["end"]] == t["quote"]
    assert [s["quote"] for s in detail["summary"]] == [DAY1[0], DAY2[0], DAY3[0]]
    missing = client.get("/stories/story-0000")
    assert missing.status_code == 404 and missing.json()["type"] == "/problems/story-not-found"


def test_the_digest_since_day_2_holds_only_day_3s_developments(client: TestClient) -> None:
    r = client.post("/digest", json={"since": "2025-03-04T12:00:00Z"})
    assert r.status_code == 200, r.text
    (story,) = r.json()["stories"]
    new = [s["quote"] for s in story["new"]]
    assert new[0] == DAY3[0] and DAY3[1] not in new
    assert all(s["published_at"].startswith("2025-03-05") for s in story["new"])
    assert [a["title"] for a in story["articles"]] == ["Velmora to be rebuilt after earthquake"]
    assert DAY3[3] not in new  # background told on day 1
    bad = client.post("/digest", json={"since": "last week"})
    assert bad.status_code == 422 and "since" in bad.json()["detail"]


def test_latest_figure_with_the_earlier_one_cited_and_as_of(client: TestClient) -> None:
    question = "How many people have died so far in the Velmora earthquake?"
    now = client.post("/ask", json={"question": question, "mode": "extractive"}).json()
    assert now["answerable"], now
    assert "60" in now["answer"].split("[1]")[0]
    assert "45" in now["answer"] and len(now["citations"]) >= 2
    first, earlier = now["citations"][0], now["citations"][-1]
    assert first["published_at"] > earlier["published_at"]
    assert "up from 45 reported on 3 March [2]" in now["answer"]
    assert first["published_at"].startswith("2025-03-05")  # the newest article giving 60
    assert earlier["source"] == "Coast Times" and earlier["published_at"].startswith("2025-03-03")
    back_then = client.post(
        "/ask",
        json={"question": question, "mode": "extractive", "as_of": "2025-03-03T23:59:00Z"},
    ).json()
    assert back_then["answerable"] and "45" in back_then["answer"]
    assert "60" not in back_then["answer"]
    assert all(c["published_at"] < "2025-03-04" for c in back_then["citations"])


def test_cli_digest_prints_markdown(client: TestClient, tmp_path: Path) -> None:
    data_dir = client.app.state.settings.data_dir  # type: ignore[attr-defined]
    result = CliRunner().invoke(
        cli, ["digest", "--since", "2025-03-04T12:00:00Z", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# What is new since 2025-03-04T12:00:00+00:00")
    assert "## Earthquake kills 45 in Velmora" in result.output
    assert "- The government pledged 200 million euros" in result.output
    assert "Coast Times, 5 March 2025" in result.output
