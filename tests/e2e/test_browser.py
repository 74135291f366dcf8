"""The built-in web page in a real headless Chromium (Debian's ``chromium`` + ``playwright``).

A live uvicorn server runs the real app and models on a random loopback port; the page is
driven like a person would: keyboard, clicks, a phone-sized viewport. Screenshots land in the
test's tmp_path and in /tmp/qa-screens/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.models.loading import Models, load_models
from tests.conftest import SEED_ARTICLE, live_server, make_settings
from tests.support.newsroom import STORIES, NewsServer, article_page, news_server, rss

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
)
expect = sync_api.expect

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)

LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path("/tmp/qa-screens")
QUESTION = "What is Assad's precondition for normalizing ties with Turkey?"
EVIDENCE = "Turkish military withdrawal from northern Syria"
EVIL_TITLE = "<img src=x onerror=alert(1)>"
ANSWER_TIMEOUT_MS = 180_000  # the generator runs on CPU


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models: Models) -> Iterator[str]:
    app = create_app(make_settings(tmp_path_factory.mktemp("browser") / "data"), models=models)
    with live_server(app) as url:
        seed = {
            "id": "syria",
            "title": "Syria says counteroffensive pushed back insurgents",
            "text": SEED_ARTICLE.read_text(encoding="utf-8"),
        }
        r = httpx.post(f"{url}/documents", json={"documents": [seed]}, timeout=120)
        assert r.status_code == 200, r.text
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh browser contexts; any JS dialog or page error fails the test."""
    contexts: list[Any] = []
    problems: list[str] = []

    def on_dialog(dialog: Any) -> None:
        problems.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def open_page(width: int = 1280, height: int = 900, **options: Any) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.set_default_timeout(30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not problems, f"unexpected dialogs or page errors: {problems}"


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized page."""
    return new_page()


def _screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    SCREENS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SCREENS / name)
    return path


def _no_horizontal_scroll(page: Any, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"horizontal scrolling: scrollWidth {scroll_width} > {width}"


def test_ask_with_keyboard_streams_a_cited_answer(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server)
    expect(page.locator("#doc-list li")).to_have_count(1)

    # Keyboard only: Tab reaches the question box, Enter submits.
    for _ in range(10):
        if page.evaluate("document.activeElement && document.activeElement.id") == "question":
            break
        page.keyboard.press("Tab")
    expect(page.locator("#question")).to_be_focused()
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")

    expect(page.locator("#citations li").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#answer-live")).to_have_attribute("aria-busy", "false")
    answer = page.locator("#answer").inner_text()
    assert "Turkish" in answer or "Turkey" in answer, answer
    assert page.locator("#answer a.marker").count() >= 1
    expect(page.locator("#answer-meta")).to_contain_text(re.compile(r"\((generated|extractive)\)"))
    expect(page.locator("#related-box")).to_be_hidden()

    # A citation marker is focusable; Enter opens the document at the quote.
    marker = page.locator("#answer a.marker").first
    marker.focus()
    page.keyboard.press("Enter")
    mark = page.locator("#doc-text mark")
    expect(mark).to_contain_text(EVIDENCE)
    expect(page.locator("#doc-title")).to_have_text(
        "Syria says counteroffensive pushed back insurgents"
    )
    expect(mark).to_be_in_viewport()

    # Clicking the citation in the list does the same.
    page.locator("#citations button.passage").first.click()
    expect(mark).to_contain_text(EVIDENCE)
    _screenshot(page, tmp_path, "desktop-answer.png")

    page.set_viewport_size({"width": 375, "height": 800})
    _no_horizontal_scroll(page, 375)
    _screenshot(page, tmp_path, "phone-answer.png")


def test_unanswerable_shows_closest_passages_not_citations(page: Any, server: str) -> None:
    # Replays a canned stream (no model) to check reset handling and the unanswerable layout.
    body = (
        'event: delta\ndata: {"text": "A wrong draft"}\n\n'
        'event: reset\ndata: {"reason": "rejected"}\n\n'
        'event: delta\ndata: {"text": "The ingested articles do not answer this question."}\n\n'
        "event: citations\ndata: "
        '{"answer": "The ingested articles do not answer this question.", "answerable": false,'
        ' "citations": [], "grounding": "none", "fallback_reason": null, "related": [{"doc_id":'
        ' "syria", "title": "<b>x</b>", "start": 0, "end": 18, "quote": "Syria claimed that",'
        ' "score": 0.2}], "model": {"embedding": "e", "generator": null},'
        ' "timings_ms": {"total": 5}}\n\n'
        'event: done\ndata: {"timings_ms": {"total": 5}}\n\n'
    )
    page.route(
        "**/ask",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    page.goto(server)
    page.fill("#question", "Who won the 2018 World Cup?")
    page.click("#ask-button")
    expect(page.locator("#answer")).to_have_text(
        "The ingested articles do not answer this question."
    )
    expect(page.locator("#citations-box")).to_be_hidden()
    expect(page.locator("#related-box")).to_be_visible()
    expect(page.locator("#related-box")).to_contain_text("Closest passages")
    expect(page.locator("#related .passage-title")).to_have_text("<b>x</b>")
    page.locator("#related button.passage").click()
    expect(page.locator("#doc-text mark")).to_have_text("Syria claimed that")


def test_add_and_delete_a_document(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(server)
    expect(page.locator("#doc-list li")).to_have_count(1)
    page.fill("#paste-title", EVIL_TITLE)
    page.fill("#paste-text", "The harbour of Tallinn froze over in January for the first time.")
    page.click("#paste-form button[type=submit]")
    expect(page.locator("#add-result")).to_contain_text("added")

    item = page.locator("#doc-list li", has_text=EVIL_TITLE)
    expect(item).to_have_count(1)
    expect(item.locator("button.link")).to_have_text(EVIL_TITLE)  # shown literally, as text
    assert page.locator("#doc-list img").count() == 0
    expect(page.locator("#docs-count")).to_have_text("2 documents")

    # Open it, then delete it (confirmed in the page's own dialog, not a JS confirm()).
    item.locator("button.link").click()
    expect(page.locator("#doc-title")).to_have_text(EVIL_TITLE)
    _screenshot(page, tmp_path, "desktop-document.png")
    item.get_by_role("button", name=f"Delete {EVIL_TITLE}").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(EVIL_TITLE)
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#doc-list li", has_text=EVIL_TITLE)).to_have_count(0)
    expect(page.locator("#docs-count")).to_have_text("1 document")
    expect(page.locator("#viewer")).to_be_hidden()
    assert httpx.get(f"{server}/documents").json()["total"] == 1


def test_phone_width_summary(new_page: Callable[..., Any], server: str, tmp_path: Path) -> None:
    page = new_page(375, 800, is_mobile=True)
    page.goto(server)
    page.locator("#doc-list button.link").first.click()
    expect(page.locator("#doc-text")).to_contain_text(EVIDENCE)
    page.click("#summarize")
    sentence = page.locator("#summary button.sentence").first
    expect(sentence).to_be_visible(timeout=60_000)
    sentence.click()
    mark = page.locator("#doc-text mark")
    expect(mark).to_have_count(1)
    expect(mark).to_have_text(sentence.inner_text())  # an extractive sentence is its own span
    _no_horizontal_scroll(page, 375)
    _screenshot(page, tmp_path, "phone-summary.png")


def test_errors_are_shown_in_words(page: Any, server: str) -> None:
    page.route("**/documents?*", lambda route: route.abort())
    page.goto(server)
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_contain_text("Cannot reach the service")
    page.unroute("**/documents?*")

    problem = '{"type": "/problems/invalid-input", "title": "Invalid input", "status": 422, '
    problem += '"detail": "question: String should have at least 1 character"}'
    page.route(
        "**/ask",
        lambda route: route.fulfill(
            status=422, content_type="application/problem+json", body=problem
        ),
    )
    page.fill("#question", "x")
    page.keyboard.press("Enter")
    expect(page.locator("#error-text")).to_have_text(
        "The request was not valid: question: String should have at least 1 character"
    )


def test_api_key_is_asked_for_and_sent(
    new_page: Callable[..., Any], models: Models, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "data", api_keys="s3cret")
    with live_server(create_app(settings, models=models)) as url:
        page = new_page()
        page.goto(url)  # the first listing gets 401: the key field appears, focused
        expect(page.locator("#key-form")).to_be_visible()
        expect(page.locator("#api-key")).to_be_focused()
        page.keyboard.type("s3cret")
        page.keyboard.press("Enter")
        expect(page.locator("#docs-count")).to_have_text("No documents yet: add some below.")
        assert page.evaluate("localStorage.getItem('qa-service.api-key')") == "s3cret"
        page.reload()  # the stored key is sent again
        expect(page.locator("#docs-count")).to_have_text("No documents yet: add some below.")
        expect(page.locator("#error")).to_be_hidden()


def test_upload_files_reports_each_file(page: Any, server: str, tmp_path: Path) -> None:
    good = tmp_path / "harbour-news.txt"
    good.write_text("The harbour of Tallinn froze over in January for the first time.\n")
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 not supported")
    page.goto(server)
    expect(page.locator("#doc-list li")).to_have_count(1)
    page.set_input_files("#upload-files", [str(good), str(bad)])
    page.click("#upload-form button[type=submit]")
    result = page.locator("#add-result")
    expect(result).to_contain_text("1 document processed, 1 failed.")
    expect(result.locator("li.failed")).to_contain_text("scan.pdf: not added:")
    expect(page.locator("#doc-list li")).to_have_count(2)
    for doc in httpx.get(f"{server}/documents").json()["documents"]:
        if doc["id"] != "syria":
            assert httpx.delete(f"{server}/documents/{doc['id']}").status_code == 204


# --- feeds and URLs: the app and a feed server on loopback ---------------------------------
@pytest.fixture(scope="module")
def feeds() -> Iterator[NewsServer]:
    with news_server() as s:
        for slug, (title, paragraphs) in STORIES.items():
            s.set_page(f"/times/{slug}", article_page(title, paragraphs))
        items = [
            {"title": STORIES[slug][0], "link": s.url(f"/times/{slug}"), "guid": slug,
             "description": STORIES[slug][1][0][:80]}
            for slug in ("harbour", "glacier")
        ]  # fmt: skip
        s.set_feed("/rss", rss("Baltic Times", items))
        yield s


@pytest.fixture(scope="module")
def feeds_app(tmp_path_factory: pytest.TempPathFactory, feeds: NewsServer) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("browser-feeds") / "data",
        generator="none",
        fetch_allow_private=True,  # the feed server is on 127.0.0.1
        feed_full_text_chars=300,
    )
    models = Models(embedder=load_models(Settings(generator="none")).embedder)
    with live_server(create_app(settings, models=models)) as url:
        yield url


def test_follow_check_and_remove_a_feed(
    page: Any, feeds_app: str, feeds: NewsServer, tmp_path: Path
) -> None:
    page.goto(feeds_app)
    expect(page.locator("#feeds-count")).to_have_text("No feeds followed yet.")
    page.fill("#feed-url", feeds.url("/rss"))
    page.fill("#feed-interval", "60")
    page.click("#feed-form button[type=submit]")
    expect(page.locator("#feed-result")).to_contain_text("Following “Baltic Times”")
    item = page.locator("#feed-list li", has_text="Baltic Times")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("every 60 min")

    item.get_by_role("button", name="Check Baltic Times now").click()
    expect(item).to_contain_text("2 articles", timeout=60_000)
    expect(page.locator("#doc-list li")).to_have_count(2)
    _screenshot(page, tmp_path, "desktop-feeds.png")

    page.fill("#urls-text", f"{feeds.url('/times/budget')}\n{feeds.url('/missing')}")
    page.click("#urls-form button[type=submit]")
    result = page.locator("#add-result")
    expect(result).to_contain_text("2 URLs processed, 1 failed.", timeout=60_000)
    expect(result).to_contain_text("Lisbon council approves budget for new tram line: added")
    expect(result.locator(".failed")).to_contain_text("not added: HTTP 404 Not Found")
    expect(page.locator("#doc-list li")).to_have_count(3)

    page.set_viewport_size({"width": 375, "height": 800})
    _no_horizontal_scroll(page, 375)
    page.set_viewport_size({"width": 1280, "height": 900})

    item.get_by_role("button", name="Stop following Baltic Times").click()
    dialog = page.locator("dialog#confirm")
    expect(dialog).to_contain_text("The articles it brought stay.")
    dialog.get_by_role("button", name="Remove").click()
    expect(page.locator("#feed-list li")).to_have_count(0)
    expect(page.locator("#feeds-count")).to_have_text("No feeds followed yet.")
    expect(page.locator("#doc-list li")).to_have_count(3)


# --- stories: two days of one earthquake and an unrelated article --------------------------
QUAKE_TITLE = "Earthquake strikes central Turkey"
QUAKE_DAY1 = "killing at least 45 people"
QUAKE_DAY2 = "The death toll from the earthquake in central Turkey near Malatya rose to 60"
STORY_ARTICLES = [
    {"id": "quake-1", "title": QUAKE_TITLE, "source": "Ankara Herald",
     "url": "https://herald.example/quake", "published_at": "2024-03-04T08:00:00Z",
     "text": f"A magnitude 7.1 earthquake struck central Turkey near Malatya on Monday, "
             f"{QUAKE_DAY1}. Rescue teams searched collapsed buildings through the night. The "
             "quake was felt as far away as Syria and Iraq, the Kandilli observatory said."},
    {"id": "tram", "title": "Lisbon <b>council</b> approves budget for new tram line",
     "source": "Lisbon Daily", "url": "https://lisbon.example/tram",
     "published_at": "2024-03-04T10:00:00Z",
     "text": "Lisbon city council approved a budget of 180 million euros for a new tram line "
             "along the river. Construction is due to begin next spring, the mayor said."},
    {"id": "quake-2", "title": "Turkey quake death toll rises", "source": "Istanbul Post",
     "url": "https://post.example/quake-toll", "published_at": "2024-03-05T09:00:00Z",
     "text": f"{QUAKE_DAY2} on Tuesday, officials said. Rescue teams pulled a girl alive from "
             "the rubble of a collapsed building. The magnitude 7.1 quake struck on Monday, the "
             "Kandilli observatory said."},
]  # fmt: skip


@pytest.fixture(scope="module")
def stories_app(tmp_path_factory: pytest.TempPathFactory, models: Models) -> Iterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("browser-stories") / "data", generator="none")
    with live_server(create_app(settings, models=Models(embedder=models.embedder))) as url:
        for article in STORY_ARTICLES:  # one at a time, as they would arrive
            r = httpx.post(f"{url}/documents", json={"documents": [article]}, timeout=120)
            assert r.status_code == 200, r.text
        yield url


def test_stories_timeline_and_digest(
    new_page: Callable[..., Any], stories_app: str, tmp_path: Path
) -> None:
    page = new_page(timezone_id="UTC", locale="en-US")
    page.goto(stories_app)
    expect(page.locator("#stories-count")).to_have_text("2 stories")

    # Keyboard only: Tab reaches the Stories link of the menu, Enter opens the view.
    for _ in range(10):
        if page.evaluate("document.activeElement && document.activeElement.id") == "nav-stories":
            break
        page.keyboard.press("Tab")
    expect(page.locator("#nav-stories")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#stories-h")).to_be_focused()
    stories = page.locator("#story-list > li")
    expect(stories).to_have_count(2)
    expect(page.locator("#story-list button.link", has_text="<b>council</b>")).to_have_count(1)
    assert page.locator("#story-list b").count() == 0  # titles are text, not markup
    quake = stories.filter(has_text=QUAKE_TITLE)
    expect(quake.locator(".meta")).to_have_text(
        "Ankara Herald, Istanbul Post · 3/4/2024 \u2013 3/5/2024 · 2 articles"
    )
    expect(quake.locator(".passages")).to_contain_text(QUAKE_DAY1)  # the cited summary
    expect(quake.locator(".passages")).to_contain_text(QUAKE_DAY2)

    # Open the quake story: its timeline in date order, day 2's development after day 1's.
    quake.get_by_role("button", name=QUAKE_TITLE).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#story-title")).to_be_focused()
    expect(page.locator("#story-title")).to_have_text(QUAKE_TITLE)
    expect(page.locator("#story-list-box")).to_be_hidden()
    events = page.locator("#story-timeline > li")
    expect(events.last).to_contain_text("Istanbul Post")
    quotes = events.locator(".quote").all_inner_texts()
    assert QUAKE_DAY1 in quotes[0], quotes
    assert any(QUAKE_DAY2 in q for q in quotes[1:]), quotes
    times = events.locator("time").evaluate_all("ts => ts.map(t => t.dateTime)")
    assert times == sorted(times) and times[0] < times[-1], times
    day2 = events.filter(has_text=QUAKE_DAY2)
    expect(day2.locator(".passage-title")).to_have_text("Mar 5, 2024, 9:00 AM · Istanbul Post")

    # Every article is listed with its outlet and a link that opens in a new tab.
    articles = page.locator("#story-articles > li")
    expect(articles).to_have_count(2)
    expect(articles.first).to_contain_text("Ankara Herald")
    link = articles.nth(1).locator("a")
    expect(link).to_have_attribute("href", "https://post.example/quake-toll")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))

    # A quote opens its article in the viewer, the quoted span marked.
    day2.locator("button.passage").click()
    expect(page.locator("#doc-title")).to_have_text("Turkey quake death toll rises")
    expect(page.locator("#doc-text mark")).to_have_text(f"{QUAKE_DAY2} on Tuesday, officials said.")
    _screenshot(page, tmp_path, "desktop-story.png")
    page.click("#doc-close")
    page.click("#story-back")
    expect(page.locator("#story")).to_be_hidden()
    expect(quake.get_by_role("button", name=QUAKE_TITLE)).to_be_focused()

    # The digest: nothing in the last 24 hours (the articles are from 2024); since day 2, only
    # the quake story, with only day 2's developments.
    page.click("#digest-form button[type=submit]")
    expect(page.locator("#digest-status")).to_contain_text("Nothing new since")
    page.select_option("#digest-span", "at")
    page.fill("#digest-at", "2024-03-05T00:00")
    page.click("#digest-form button[type=submit]")
    expect(page.locator("#digest-status")).to_have_text(
        "1 story with news since 3/5/2024, 12:00:00 AM."
    )
    digest = page.locator("#digest-list > li")
    expect(digest).to_have_count(1)
    expect(digest).to_contain_text(QUAKE_TITLE)
    expect(digest.locator(".passages")).to_contain_text(QUAKE_DAY2)
    expect(digest).not_to_contain_text(QUAKE_DAY1)
    expect(digest.locator(".meta").first).to_have_text("Istanbul Post · 1 new article")

    page.set_viewport_size({"width": 375, "height": 800})
    _no_horizontal_scroll(page, 375)
    _screenshot(page, tmp_path, "phone-stories.png")
