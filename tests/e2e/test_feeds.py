"""Articles from URLs and followed feeds, end to end: a real HTTP server on 127.0.0.1 serves the
feeds and pages, the real app (real embedding model, real background poller) fetches them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qa_service.api import create_app
from qa_service.cli.main import app as cli
from qa_service.config import Settings
from qa_service.models.loading import Models, load_models
from tests.conftest import make_settings
from tests.support.newsroom import (
    BOILERPLATE_FOOT,
    BOILERPLATE_NAV,
    STORIES,
    NewsServer,
    Route,
    article_page,
    atom,
    news_server,
    rss,
    wire_copy,
)


@pytest.fixture(scope="module")
def news_models() -> Models:
    """The real embedding model (no generator: nothing here writes answers)."""
    return load_models(Settings(generator="none"))


@pytest.fixture
def server() -> Iterator[NewsServer]:
    with news_server() as s:
        for slug, (title, paragraphs) in STORIES.items():
            s.set_page(f"/times/{slug}", article_page(title, paragraphs))
        title, paragraphs = STORIES["harbour"]
        # The same story, word for word, on another outlet's site (other URL, other chrome).
        s.set_page("/post/harbour", article_page(title, paragraphs, site="Evening Post"))
        # And the wire version another outlet ran: dateline, last paragraph cut, credits.
        s.set_page("/wire/harbour", article_page(title, wire_copy(paragraphs), site="Wire"))
        s.routes["/slow"] = Route(body=b"<html></html>", delay_s=3)
        s.routes["/huge"] = Route(stream_bytes=2_000_000)
        s.routes["/file.pdf"] = Route(body=b"%PDF-1.4", content_type="application/pdf")
        yield s


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "generator": "none",
        "fetch_allow_private": True,  # the feed server is on 127.0.0.1
        "fetch_timeout_s": 1.0,
        "fetch_max_bytes": 500_000,
        "feed_min_interval_minutes": 0.001,
        "feed_full_text_chars": 300,  # the test stories are short; teasers are shorter
        "log_format": "text",
    }
    return make_settings(tmp_path / "data", **(values | overrides))


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def teaser_item(server: NewsServer, slug: str) -> dict[str, str]:
    title, paragraphs = STORIES[slug]
    return {
        "title": title,
        "link": server.url(f"/times/{slug}"),
        "guid": f"tag:times.test,2025:{slug}",
        "description": paragraphs[0][:120] + "…",
    }


def test_urls_each_get_a_result(server: NewsServer, tmp_path: Path, news_models: Models) -> None:
    urls = [
        server.url("/times/harbour"),
        server.url("/post/harbour"),  # exact copy on another outlet
        server.url("/wire/harbour"),  # near copy
        server.url("/times/glacier"),
        server.url("/missing"),
        server.url("/file.pdf"),
        server.url("/slow"),
        server.url("/huge"),
        "ftp://example.com/file",
    ]
    app = create_app(settings_for(tmp_path, feed_polling=False), models=news_models)
    with TestClient(app) as c:
        r = c.post("/documents/urls", json={"urls": urls})
        assert r.status_code == 200, r.text
        res = r.json()["results"]
        assert [x["url"] for x in res] == urls
        assert [x["status"] for x in res] == ["created", "unchanged", "created", "created"] + [
            "failed"
        ] * 5
        assert [x["error"] for x in res[4:]] == [
            "http-error", "not-html", "timeout", "too-large", "bad-url",
        ]  # fmt: skip
        assert res[4]["reason"] == "HTTP 404 Not Found"
        times_id = res[0]["id"]
        assert res[1]["id"] == res[1]["duplicate_of"] == times_id
        assert res[1]["chunks"] == res[0]["chunks"] > 0
        assert res[2]["near_duplicate_of"] == times_id

        doc = c.get(f"/documents/{times_id}").json()
        assert doc["url"] == server.url("/times/harbour")
        assert doc["title"] == STORIES["harbour"][0]
        assert doc["published_at"].startswith("2025-03-03")
        assert doc["source"] == "Baltic Times"
        assert doc["metadata"]["author"] == "Kadri Tamm"
        assert STORIES["harbour"][1][2] in doc["text"]
        for junk in (BOILERPLATE_NAV, BOILERPLATE_FOOT, "cookies", "Related story"):
            assert junk not in doc["text"]
        assert c.get("/documents").json()["total"] == 3

        # The same URL again: unchanged, nothing re-embedded.
        again = c.post("/documents/urls", json={"urls": [urls[0]]}).json()["results"][0]
        assert (again["status"], again["id"], again["duplicate_of"]) == (
            "unchanged", times_id, None,
        )  # fmt: skip

        # Search shows the passage both outlets carry once, naming the copy.
        hits = c.post("/search", json={"query": "repairs to the eastern quay", "top_k": 5})
        quay = [h for h in hits.json()["results"] if "eastern quay" in h["text"]]
        assert len(quay) == 1 and quay[0]["also_in"], quay
        # So does an answer (here: not answerable, with the closest passages): once each.
        answer = c.post(
            "/ask",
            json={
                "question": "Which company won the contract to rebuild the eastern quay?",
                "mode": "extractive",
            },
        ).json()
        quotes = [p["quote"] for p in answer["citations"] + answer["related"]]
        assert any("eastern quay" in q for q in quotes), answer
        assert len(quotes) == len(set(quotes)), quotes
        # A summary of what the query finds cites every outlet.
        summary = c.post("/summarize", json={"query": "eastern quay repairs", "top_k": 3}).json()
        assert {times_id, res[2]["id"]} <= set(summary["doc_ids"])
        cited = {cite["doc_id"] for s in summary["sentences"] for cite in s["citations"]}
        assert {times_id, res[2]["id"]} <= cited, summary

        too_many = c.post("/documents/urls", json={"urls": ["http://x.test/"] * 51})
        assert too_many.status_code == 422 and too_many.json()["limit"] == 50


def test_private_addresses_are_refused_by_default(
    server: NewsServer, tmp_path: Path, news_models: Models
) -> None:
    server.set_feed("/rss", rss("Baltic Times", [teaser_item(server, "harbour")]))
    settings = make_settings(tmp_path / "data", generator="none", feed_polling=False)
    with TestClient(create_app(settings, models=news_models)) as c:
        res = c.post("/documents/urls", json={"urls": [server.url("/times/harbour")]})
        assert res.json()["results"][0]["error"] == "refused"
        feed = c.post("/feeds", json={"url": server.url("/rss")})
        assert feed.status_code == 422, feed.text
        assert feed.json()["type"] == "/problems/fetch-failed"
        assert "QA_FETCH_ALLOW_PRIVATE" in feed.json()["detail"]
    assert not server.requests  # nothing was fetched


def test_feeds_are_polled_conditionally_and_survive_a_restart(
    server: NewsServer, tmp_path: Path, news_models: Models
) -> None:
    rss_url, atom_url = server.url("/rss"), server.url("/atom")
    server.set_feed("/rss", rss("Baltic Times", [teaser_item(server, "harbour")]))
    # A second outlet's Atom feed carries full articles, one of them the same harbour story.
    title, paragraphs = STORIES["harbour"]
    html = "".join(f"<p>{p}</p>" for p in [title, *paragraphs])
    server.set_feed(
        "/atom",
        atom("Evening Post", [{"title": title, "id": "urn:post:1", "link": server.url("/p/1"),
                               "html": html}]),
        content_type="application/atom+xml",
    )  # fmt: skip
    settings = settings_for(tmp_path)

    def feed(c: TestClient, feed_id: str) -> dict[str, Any]:
        r = c.get(f"/feeds/{feed_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    with TestClient(create_app(settings, models=news_models)) as c:
        r = c.post("/feeds", json={"url": rss_url, "interval_minutes": 0.01})
        assert r.status_code == 201, r.text
        rss_id = r.json()["id"]
        assert r.json()["title"] == "Baltic Times" and r.json()["status"] == "pending"
        assert c.post("/feeds", json={"url": rss_url}).status_code == 200  # already followed

        # The poller ingests the teaser entry by fetching the full article from its link.
        wait_for(lambda: feed(c, rss_id)["entries_ingested"] == 1, "the first entry")
        docs = c.get("/documents").json()["documents"]
        assert len(docs) == 1 and docs[0]["source"] == "Baltic Times"
        text = c.get(f"/documents/{docs[0]['id']}").json()["text"]
        assert STORIES["harbour"][1][3] in text  # beyond the teaser
        assert server.seen("/times/harbour")

        # The next poll is a conditional GET: nothing changed, 304, nothing fetched again.
        wait_for(lambda: any(p.status == 304 for p in server.seen("/rss")), "a 304")
        assert "if-none-match" not in server.seen("/rss")[0].headers  # the check on adding
        assert feed(c, rss_id)["status"] == "not_modified"
        assert len(server.seen("/times/harbour")) == 1

        # A new entry between two polls is picked up.
        server.set_feed(
            "/rss", rss("Baltic Times", [teaser_item(server, s) for s in ("glacier", "harbour")])
        )
        wait_for(lambda: feed(c, rss_id)["entries_ingested"] == 2, "the new entry")
        info = feed(c, rss_id)
        assert info["status"] in ("ok", "not_modified") and info["last_fetch_at"]
        assert info["entries_seen"] == 2 and info["consecutive_errors"] == 0

        # The second feed: its copy of the harbour story is recognised, not stored twice.
        r = c.post("/feeds", json={"url": atom_url, "interval_minutes": 60})
        atom_id = r.json()["id"]
        refreshed = c.post(f"/feeds/{atom_id}/refresh").json()
        assert (refreshed["entries_seen"], refreshed["entries_duplicate"]) == (1, 1), refreshed
        assert c.get("/documents").json()["total"] == 2
        listed = c.get("/feeds").json()
        assert [f["id"] for f in listed["feeds"]] == [rss_id, atom_id]

    # A restart: the feeds, their state and validators are still there, and polling goes on.
    requests_before = len(server.seen("/rss"))
    server.set_feed(
        "/rss",
        rss("Baltic Times", [teaser_item(server, s) for s in ("budget", "glacier", "harbour")]),
    )
    with TestClient(create_app(settings, models=news_models)) as c:
        assert feed(c, rss_id)["entries_ingested"] == 2
        assert feed(c, atom_id)["entries_duplicate"] == 1
        wait_for(lambda: feed(c, rss_id)["entries_ingested"] == 3, "the entry after a restart")
        after = server.seen("/rss")[requests_before]
        assert "if-none-match" in after.headers  # the stored ETag was sent
        # Errors back off: the feed disappears, polls fail, the wait doubles each time.
        del server.routes["/rss"]
        failing = wait_for(
            lambda: (f := feed(c, rss_id))["consecutive_errors"] >= 2 and f, "two failed polls"
        )
        assert failing["status"] == "error" and "404" in failing["last_error"]
        assert c.delete(f"/feeds/{rss_id}").status_code == 204
        assert c.get(f"/feeds/{rss_id}").status_code == 404
        assert c.get("/documents").json()["total"] == 3  # its articles stay


def test_cli_follows_feeds_and_ingests_urls(
    server: NewsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.set_feed("/rss", rss("Baltic Times", [teaser_item(server, "orchestra")]))
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QA_FETCH_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("QA_GENERATOR", "none")
    runner = CliRunner()
    added = runner.invoke(cli, ["feeds", "add", server.url("/rss"), "--interval", "15"])
    assert added.exit_code == 0, added.output
    feed_id = added.output.split(" as ")[-1].strip()
    listed = runner.invoke(cli, ["feeds", "list", "--json"])
    assert listed.exit_code == 0 and feed_id in listed.output and '"pending"' in listed.output
    refreshed = runner.invoke(cli, ["feeds", "refresh", feed_id])
    assert refreshed.exit_code == 0, refreshed.output
    listed = runner.invoke(cli, ["feeds", "list", "--json"])
    assert '"entries_ingested": 1' in listed.output and '"status": "ok"' in listed.output
    ingested = runner.invoke(
        cli, ["ingest", server.url("/times/orchestra"), server.url("/missing")]
    )
    assert ingested.exit_code == 1, ingested.output  # one URL failed
    assert "HTTP 404" in ingested.output
    assert "already stored" not in ingested.output  # the same URL: updated or unchanged
    removed = runner.invoke(cli, ["feeds", "remove", feed_id])
    assert removed.exit_code == 0 and feed_id in removed.output
    assert runner.invoke(cli, ["feeds", "remove", feed_id]).exit_code == 1
