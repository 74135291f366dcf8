"""Fetching and reading pages and feeds, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.ingest.extract import extract_article, html_text, parse_feed
from qa_service.ingest.feedstore import FeedStore, backoff_s
from qa_service.ingest.fetch import PAGE_ACCEPT, USER_AGENT, Fetcher, FetchError, refused_address
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
)


@pytest.fixture(scope="module")
def server() -> Iterator[NewsServer]:
    with news_server() as s:
        title, paragraphs = STORIES["harbour"]
        s.set_page("/harbour", article_page(title, paragraphs, canonical=s.url("/harbour")))
        s.set_page(
            "/spoof", article_page(title, paragraphs, canonical="https://other.example/harbour")
        )
        s.routes["/pdf"] = Route(body=b"%PDF-1.4", content_type="application/pdf")
        s.routes["/slow"] = Route(body=b"<html></html>", delay_s=1.5)
        s.routes["/huge"] = Route(body=b"<html>" + b"x" * 300_000 + b"</html>")
        s.routes["/huge-stream"] = Route(stream_bytes=5_000_000)
        s.routes["/loop"] = Route(status=302, headers={"Location": "/loop2"})
        s.routes["/loop2"] = Route(status=302, headers={"Location": "/loop"})
        s.routes["/to-ftp"] = Route(status=301, headers={"Location": "ftp://example.com/x"})
        s.routes["/to-private"] = Route(status=302, headers={"Location": "http://10.1.2.3/x"})
        s.routes["/moved"] = Route(status=301, headers={"Location": "/harbour"})
        yield s


def fetcher(tmp_path: Path, **overrides: object) -> Fetcher:
    settings = Settings(
        data_dir=tmp_path,
        fetch_allow_private=True,
        fetch_timeout_s=0.5,
        fetch_max_bytes=200_000,
        **overrides,  # type: ignore[arg-type]
    )
    return Fetcher(settings)


def error_of(f: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as info:
        extract_article(f.get(url, accept=PAGE_ACCEPT))
    return info.value


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.8", "172.16.3.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
     "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "192.0.2.7"],
)  # fmt: skip
def test_private_and_reserved_addresses_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert not refused_address(ipaddress.ip_address(address))


def test_article_is_extracted_without_boilerplate(server: NewsServer, tmp_path: Path) -> None:
    f = fetcher(tmp_path)
    page = f.get(server.url("/moved"), accept=PAGE_ACCEPT)  # one redirect, followed
    article = extract_article(page)
    assert page.url == server.url("/harbour")
    assert article.title == STORIES["harbour"][0]
    for paragraph in STORIES["harbour"][1]:
        assert paragraph in article.text
    for junk in (BOILERPLATE_NAV, BOILERPLATE_FOOT, "cookies", "Related story", "Most read"):
        assert junk not in article.text
    assert article.author == "Kadri Tamm"
    assert article.published == "2025-03-03"
    assert article.url == server.url("/harbour")
    assert article.site == "Baltic Times"
    assert server.seen("/harbour")[-1].headers["user-agent"] == USER_AGENT


def test_a_canonical_url_on_another_host_is_not_believed(server: NewsServer, tmp_path: Path):
    article = extract_article(fetcher(tmp_path).get(server.url("/spoof"), accept=PAGE_ACCEPT))
    assert article.url == server.url("/spoof")


@pytest.mark.parametrize(
    ("path", "code", "words"),
    [
        ("/missing", "http-error", "HTTP 404"),
        ("/pdf", "not-html", "application/pdf"),
        ("/slow", "timeout", "timeout"),
        ("/huge", "too-large", "300,013 bytes"),
        ("/huge-stream", "too-large", "over 200,000 bytes"),
        ("/loop", "redirects", "more than 5 redirects"),
        ("/to-ftp", "bad-url", "only http and https"),
    ],
)
def test_failures_have_a_code_and_a_reason(
    server: NewsServer, tmp_path: Path, path: str, code: str, words: str
) -> None:
    started = time.monotonic()
    error = error_of(fetcher(tmp_path), server.url(path))
    assert (error.code, words in error.reason) == (code, True), error.reason
    assert time.monotonic() - started < 5


def test_nothing_extracted(server: NewsServer, tmp_path: Path) -> None:
    server.set_page("/empty", "<html><body><img src=x.png><script>go()</script></body></html>")
    assert error_of(fetcher(tmp_path), server.url("/empty")).code == "no-text"


def test_loopback_is_refused_by_default(server: NewsServer, tmp_path: Path) -> None:
    f = Fetcher(Settings(data_dir=tmp_path))
    error = error_of(f, server.url("/harbour"))
    assert error.code == "refused" and "QA_FETCH_ALLOW_PRIVATE" in error.reason
    assert not server.seen("/harbour") or all(
        r.headers.get("user-agent") == USER_AGENT for r in server.seen("/harbour")
    )


def test_a_redirect_to_a_private_address_is_refused(server: NewsServer, tmp_path: Path) -> None:
    """The "public" test server may be reached; where it redirects to may not."""
    f = Fetcher(Settings(data_dir=tmp_path), allowed=frozenset({("127.0.0.1", server.port)}))
    assert extract_article(f.get(server.url("/harbour"), accept=PAGE_ACCEPT)).text
    error = error_of(f, server.url("/to-private"))
    assert error.code == "refused" and "10.1.2.3" in error.reason


def test_rss_and_atom_are_parsed(tmp_path: Path) -> None:
    title, entries = parse_feed(
        rss("Baltic Times", [
            {"title": "A &amp; B", "link": "http://x.test/a", "guid": "tag:x.test,2025:1",
             "description": "<p>Teaser <b>one</b>.</p><p>Second line.</p>",
             "pubDate": "Tue, 04 Mar 2025 10:30:00 GMT"},
        ]).encode(),
        "http://x.test/rss",
    )  # fmt: skip
    assert title == "Baltic Times"
    [e] = entries
    assert (e.key, e.link, e.title) == ("tag:x.test,2025:1", "http://x.test/a", "A & B")
    assert e.text == "Teaser one.\nSecond line."
    assert e.published is not None and e.published.isoformat() == "2025-03-04T10:30:00+00:00"
    entry = {"title": "T", "id": "urn:1", "link": "/rel", "html": "<p>Full.</p>"}
    title, entries = parse_feed(atom("Wire", [entry]).encode(), "http://y.test/atom.xml")
    assert title == "Wire"
    [e] = entries
    assert (e.key, e.link, e.text) == ("urn:1", "http://y.test/rel", "Full.")
    with pytest.raises(FetchError) as info:
        parse_feed(article_page("x", ["y"]).encode(), "http://x.test/")
    assert info.value.code == "not-a-feed"


def test_html_text_drops_scripts_and_keeps_blocks() -> None:
    assert html_text("<p>a  b</p><script>x()</script><div>c&amp;d</div>") == "a b\nc&d"


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_s(60, n) for n in (0, 1, 2, 3)] == [60, 120, 240, 480]
    assert backoff_s(60, 40) == 6 * 3600
    assert backoff_s(24 * 3600, 3) == 24 * 3600  # a daily feed waits at least a day


def test_one_poller_per_data_directory(tmp_path: Path) -> None:
    a, b = FeedStore(tmp_path / "db.sqlite3"), FeedStore(tmp_path / "db.sqlite3")
    try:
        assert a.acquire_lease("feed-poller", "a", 60)
        assert not b.acquire_lease("feed-poller", "b", 60)
        assert a.acquire_lease("feed-poller", "a", 60)  # renewal
        a.release_lease("feed-poller", "a")
        assert b.acquire_lease("feed-poller", "b", 60)
        assert not a.acquire_lease("feed-poller", "a", 60)
        assert b.acquire_lease("feed-poller", "b", -1)  # an expired lease ...
        assert a.acquire_lease("feed-poller", "a", 60)  # ... is taken over
        a.add("feed-1", "http://x.test/rss", None, 60)
        assert a.claim("feed-1", "a", 60) is not None
        assert b.claim("feed-1", "b", 60) is None  # a refresh waits for the poll in progress
        a.release("feed-1", "a")
        assert b.claim("feed-1", "b", 60) is not None
    finally:
        a.close()
        b.close()
