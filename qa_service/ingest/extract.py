"""Read what was fetched: the article of a web page, the entries of an RSS or Atom feed.

Pages go through trafilatura, which finds the article body and drops navigation, comments and
boilerplate, and reads the metadata (title, author, date, canonical URL, site name). Feeds go
through feedparser, which reads RSS 0.9x/1.0/2.0 and Atom alike and tolerates the malformed
feeds publishers serve. A page's canonical URL is believed only on the host that served the
page, so a page cannot pass itself off as another site's article (and overwrite it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from .fetch import Fetched, FetchError

_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class Article:
    """What was extracted from one page."""

    url: str
    text: str
    title: str | None
    author: str | None
    published: str | None
    site: str | None


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def is_html(fetched: Fetched) -> bool:
    if fetched.content_type:
        return fetched.content_type in _HTML_TYPES
    head = fetched.content[:512].lstrip().lower()  # no Content-Type: sniff, as browsers do
    return head.startswith((b"<!doctype html", b"<html"))


def extract_article(fetched: Fetched) -> Article:
    """The article of a page, boilerplate removed (trafilatura), with its metadata."""
    import trafilatura

    if not is_html(fetched):
        raise FetchError("not-html", f"not HTML ({fetched.content_type or 'no content type'})")
    result = trafilatura.bare_extraction(
        fetched.content,
        url=fetched.url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
    )
    data: dict[str, Any] = {}
    if result is not None:
        data = result if isinstance(result, dict) else result.as_dict()
    text = (data.get("text") or "").strip()
    if not text:
        raise FetchError("no-text", "nothing extracted: no article text found on the page")
    canonical = data.get("url") or ""
    if urlsplit(canonical).scheme not in ("http", "https") or _host(canonical) != _host(
        fetched.url
    ):
        canonical = fetched.url  # another host's URL is not believed
    return Article(
        url=canonical,
        text=text,
        title=data.get("title") or None,
        author=data.get("author") or None,
        published=data.get("date") or None,
        site=data.get("sitename") or None,
    )


# --- feeds -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    link: str | None
    title: str | None
    text: str
    author: str | None
    published: datetime | None


class _TextOf(HTMLParser):
    """Plain text of an HTML fragment (feed content), one line per block element."""

    BLOCKS = frozenset(
        {"p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
         "pre", "tr", "table", "section", "article"}
    )  # fmt: skip
    SKIP = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def parse_feed(content: bytes, url: str) -> tuple[str | None, list[Entry]]:
    """The feed's title and entries, newest first as published; raises FetchError when the
    content is neither RSS nor Atom."""
    import feedparser

    parsed = feedparser.parse(content, response_headers={"content-location": url})
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        detail = f" ({str(problem)[:200]})" if problem else ""
        raise FetchError("not-a-feed", f"not an RSS or Atom feed{detail}")
    entries = []
    for e in parsed.entries:
        bodies = [c.get("value", "") for c in e.get("content", [])] + [e.get("summary", "")]
        text = max((html_text(b) for b in bodies if b), key=len, default="")
        link = e.get("link") or None
        key = (
            e.get("id")
            or link
            or hashlib.sha256(f"{e.get('title', '')}\n{text}".encode()).hexdigest()
        )
        entries.append(
            Entry(
                key=str(key)[:2000],
                link=link,
                title=html_text(e.get("title", "")) or None,
                text=text,
                author=e.get("author") or None,
                published=_when(e.get("published_parsed") or e.get("updated_parsed")),
            )
        )
    title = html_text(parsed.feed.get("title", "")) or None
    return title, entries
