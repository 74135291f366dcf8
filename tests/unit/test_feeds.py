"""Feed polls with a fake embedder: retries, back-off, and what a 304 may not hide."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.models.loading import Models
from qa_service.schemas import FeedIn
from qa_service.service import QAService
from tests.support.newsroom import STORIES, NewsServer, Route, article_page, news_server, rss


@pytest.fixture
def server() -> Iterator[NewsServer]:
    with news_server() as s:
        yield s


@pytest.fixture
def service(tmp_path: Path, fake_models: Models) -> Iterator[QAService]:
    settings = Settings(
        data_dir=tmp_path / "data",
        generator="none",
        fetch_allow_private=True,
        fetch_timeout_s=2,
        feed_polling=False,
    )
    s = QAService(settings, fake_models)
    yield s
    s.close()


def item(server: NewsServer, slug: str) -> dict[str, str]:
    return {
        "title": STORIES[slug][0],
        "link": server.url(f"/a/{slug}"),
        "guid": f"tag:t,2025:{slug}",
        "description": "teaser",
    }


def test_a_failed_entry_is_tried_again_with_a_full_get(server: NewsServer, service: QAService):
    server.set_feed("/rss", rss("T", [item(server, "glacier"), item(server, "harbour")]))
    title, paragraphs = STORIES["harbour"]
    server.set_page("/a/harbour", article_page(title, paragraphs))  # glacier's page: 404 for now
    feed, _ = service.news.registry.add(FeedIn(url=server.url("/rss")))
    info = service.news.refresh_feed(feed.id)
    assert (info.entries_ingested, info.entries_failed) == (1, 1)

    title, paragraphs = STORIES["glacier"]
    server.set_page("/a/glacier", article_page(title, paragraphs))
    info = service.news.refresh_feed(feed.id)
    assert (info.entries_ingested, info.entries_failed) == (2, 0)
    polls = server.seen("/rss")
    assert "if-none-match" not in polls[-1].headers  # a 304 would have hidden the retry
    assert len(server.seen("/a/harbour")) == 1  # an ingested entry is never fetched again

    service.news.refresh_feed(feed.id)  # everything settled: now the GET is conditional
    assert server.seen("/rss")[-1].status == 304
    assert service.news.refresh_feed(feed.id).status == "not_modified"


def test_an_entry_is_given_up_after_three_attempts(server: NewsServer, service: QAService):
    server.set_feed("/rss", rss("T", [item(server, "budget")]))  # its page never appears
    feed, _ = service.news.registry.add(FeedIn(url=server.url("/rss")))
    for _ in range(4):
        info = service.news.refresh_feed(feed.id)
    assert (info.entries_seen, info.entries_failed) == (1, 1)
    assert len(server.seen("/a/budget")) == 3
    assert server.seen("/rss")[-1].status == 304  # settled: conditional again


def test_errors_back_off_and_retry_after_is_honoured(server: NewsServer, service: QAService):
    server.set_feed("/rss", rss("T", []))
    feed, _ = service.news.registry.add(FeedIn(url=server.url("/rss"), interval_minutes=10))
    server.routes["/rss"] = Route(status=503, headers={"Retry-After": "7200"})
    info = service.news.refresh_feed(feed.id)
    assert info.status == "error" and info.last_error == "HTTP 503 Service Unavailable"
    assert info.next_fetch_at is not None
    row = service.news.feeds.get(feed.id)
    assert row is not None and row["next_fetch_at"] - time.time() > 7000  # not 20 minutes
    server.routes["/rss"] = Route(status=500)
    service.news.refresh_feed(feed.id)
    row = service.news.feeds.get(feed.id)
    assert row is not None and row["errors"] == 2
    assert 2300 < row["next_fetch_at"] - time.time() <= 2400  # 10 minutes, doubled twice
    server.set_feed("/rss", rss("T", []))
    info = service.news.refresh_feed(feed.id)
    assert (info.status, info.consecutive_errors, info.last_error) == ("ok", 0, None)


def test_not_a_feed_is_refused_on_add(server: NewsServer, service: QAService) -> None:
    from qa_service.errors import FetchFailed

    server.set_page("/page", article_page(*STORIES["orchestra"]))
    with pytest.raises(FetchFailed) as info:
        service.news.registry.add(FeedIn(url=server.url("/page")))
    assert "not an RSS or Atom feed" in info.value.detail
    with pytest.raises(FetchFailed):
        service.news.registry.add(FeedIn(url=server.url("/nothing-here")))
    assert service.news.registry.list().total == 0
