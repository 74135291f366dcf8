"""A real HTTP server on 127.0.0.1 for the URL and feed tests: feeds, article pages with
boilerplate, a 404, a slow page, a huge page, redirects; it records every request's headers.

Articles are short invented news stories; ``wire_copy`` makes the kind of copy another outlet
runs (dateline, last paragraph cut, credits line).
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORIES: dict[str, tuple[str, list[str]]] = {
    "harbour": (
        "Tallinn harbour reopens after three-day storm",
        [
            "The harbour of Tallinn reopened on Monday after a storm closed it for three days, "
            "the port authority said.",
            "Ships had waited outside the breakwater since Friday, when gusts of 130 kilometres "
            "an hour tore two cranes from their rails.",
            "The authority said repairs to the eastern quay would take at least a month and cost "
            "about 4 million euros.",
            "Fishermen said the closure had cost them most of a week's catch and asked the city "
            "council for compensation.",
            "Ferries to Helsinki resumed their normal timetable on Monday afternoon.",
        ],
    ),
    "glacier": (
        "Swiss glacier loses a tenth of its ice in one summer",
        [
            "The Rhone glacier lost a tenth of its remaining ice this summer, researchers at "
            "ETH Zurich reported on Tuesday.",
            "Measurements with drones and ground radar showed the tongue retreating by 60 metres "
            "since June.",
            "The team blamed a heatwave in August and a winter with little snow.",
            "Tourist operators have covered parts of the ice with white blankets to slow the "
            "melt near the ice grotto.",
        ],
    ),
    "budget": (
        "Lisbon council approves budget for new tram line",
        [
            "Lisbon's city council approved 210 million euros on Wednesday for a tram line "
            "linking the airport to the riverside.",
            "Construction is to start next spring and take four years, the mayor's office said.",
            "Opposition councillors voted against, saying the cost estimate ignored the price of "
            "moving underground cables.",
            "The line would carry an estimated 40,000 passengers a day.",
        ],
    ),
    "orchestra": (
        "Vienna orchestra cancels tour over visa delays",
        [
            "The Vienna Chamber Orchestra cancelled a twelve-city tour of South America on "
            "Thursday because visas for its musicians had not been issued.",
            "The orchestra said it had applied four months in advance and blamed a backlog at "
            "the consulates.",
            "Tickets will be refunded in full, the promoters said.",
        ],
    ),
}

BOILERPLATE_NAV = "Home World Business Sport Subscribe now for unlimited access"
BOILERPLATE_FOOT = "Copyright 2025. All rights reserved. Cookie settings. Get our newsletter"


def story_text(slug: str) -> str:
    return "\n".join(STORIES[slug][1])


def wire_copy(paragraphs: list[str]) -> list[str]:
    """Another outlet's version: a dateline, the last paragraph cut, a credits line."""
    return [
        f"TALLINN (Wire) - {paragraphs[0]}",
        *paragraphs[1:-1],
        "Reporting by Kadri Tamm; Editing by Mark Bell",
    ]


def article_page(
    title: str,
    paragraphs: list[str],
    *,
    site: str = "Baltic Times",
    canonical: str | None = None,
    author: str = "Kadri Tamm",
    date: str = "2025-03-03",
) -> str:
    """A page as a news site serves it: navigation, the article, related links, a footer."""
    body = "\n".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    link = f'<link rel="canonical" href="{escape(canonical)}">' if canonical else ""
    related = "".join(f'<li><a href="/x/{i}">Related story number {i}</a></li>' for i in range(6))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{escape(title)} | {escape(site)}</title>{link}
<meta name="author" content="{escape(author)}">
<meta property="article:published_time" content="{date}T08:00:00Z">
<meta property="og:site_name" content="{escape(site)}">
</head><body>
<header><nav><a href="/">{BOILERPLATE_NAV}</a></nav></header>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies.</div>
<main><article><h1>{escape(title)}</h1>
{body}
</article>
<aside><h2>Most read</h2><ul>{related}</ul></aside></main>
<footer>{BOILERPLATE_FOOT}</footer>
</body></html>"""


def rss(title: str, items: list[dict[str, str]]) -> str:
    """RSS 2.0; each item: title, link, guid, description (a teaser), pubDate."""
    out = []
    for it in items:
        out.append(
            f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
            f"<guid>{escape(it['guid'])}</guid>"
            f"<description>{escape(it['description'])}</description>"
            f"<pubDate>{it.get('pubDate', 'Mon, 03 Mar 2025 08:00:00 GMT')}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.invalid/</link>"
        f"<description>News</description>{''.join(out)}</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    """Atom 1.0 with the full article as HTML content."""
    out = []
    for e in entries:
        out.append(
            f"<entry><title>{escape(e['title'])}</title><id>{escape(e['id'])}</id>"
            f'<link href="{escape(e["link"])}"/><updated>2025-03-03T09:00:00Z</updated>'
            f"<author><name>{escape(e.get('author', 'Desk'))}</name></author>"
            f'<content type="html">{escape(e["html"])}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test:{escape(title)}</id>"
        f"<updated>2025-03-03T09:00:00Z</updated>{''.join(out)}</feed>"
    )


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    #: Answer 304 to a conditional GET that matches (ETag / Last-Modified of this version).
    etag: str | None = None
    last_modified: str | None = None
    #: Send this many bytes without a Content-Length (the size cap must stop the stream).
    stream_bytes: int = 0


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    status: int


class NewsServer:
    """Serves ``routes`` (path -> Route); ``requests`` lists what came in, in order."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = outer.routes.get(self.path)
                try:
                    status = outer._answer(self, route)
                except OSError:  # the client gave up (timeout, size cap): expected here
                    status = -1
                with outer._lock:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    outer.requests.append(Seen(self.path, headers, status))

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self, path: str) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def set_page(self, path: str, html: str, **kw: object) -> None:
        self.routes[path] = Route(body=html.encode("utf-8"), **kw)  # type: ignore[arg-type]

    def set_feed(self, path: str, xml: str, content_type: str = "application/rss+xml") -> None:
        """A feed version with its own ETag and Last-Modified (a new version, new validators)."""
        version = str(time.time_ns())
        self.routes[path] = Route(
            body=xml.encode("utf-8"),
            content_type=content_type,
            etag=f'"v{version}"',
            last_modified=email.utils.formatdate(time.time(), usegmt=True),
        )

    def _answer(self, h: BaseHTTPRequestHandler, route: Route | None) -> int:
        if route is None:
            h.send_error(404, "Not Found")
            return 404
        if route.delay_s:
            time.sleep(route.delay_s)
        # RFC 9110 13.2.2: If-None-Match, when sent, decides alone. Last-Modified has a one-second
        # resolution, so two versions written within a second share it; only the ETag tells.
        if h.headers.get("If-None-Match") is not None:
            conditional = bool(route.etag) and h.headers["If-None-Match"] == route.etag
        else:
            conditional = bool(route.last_modified) and (
                h.headers.get("If-Modified-Since") == route.last_modified
            )
        if conditional:
            h.send_response(304)
            h.end_headers()
            return 304
        h.send_response(route.status)
        h.send_header("Content-Type", route.content_type)
        for k, v in route.headers.items():
            h.send_header(k, v)
        if route.etag:
            h.send_header("ETag", route.etag)
        if route.last_modified:
            h.send_header("Last-Modified", route.last_modified)
        if route.stream_bytes:
            h.end_headers()  # HTTP/1.0, no length: the body ends when the connection closes
            chunk = b"<p>" + b"x" * 65_536 + b"</p>"
            for _ in range(0, route.stream_bytes, len(chunk)):
                h.wfile.write(chunk)  # OSError when the client stops reading: the cap worked
            return route.status
        h.send_header("Content-Length", str(len(route.body)))
        h.end_headers()
        h.wfile.write(route.body)
        return route.status


@contextmanager
def news_server() -> Iterator[NewsServer]:
    server = NewsServer()
    server._thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
