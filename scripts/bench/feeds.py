"""URLs ingested per second from a local web server, and what share extraction takes.

    python -m scripts.bench.feeds [--limit N] [--repeats R]

A real HTTP server on 127.0.0.1 (the one the tests use) serves every document of the dev sets
as an article page with a news site's boilerplate around it: the 30 news articles (about 370
words each) and the 387 SQuAD paragraphs (about 120 words), 417 pages. Then, each in a fresh data
directory, with the real embedding model and no generator:

  urls       QAService.news.ingest_urls in requests of 50 URLs, as POST /documents/urls does:
             fetch, extract (trafilatura), exact-copy check, chunk, embed, store, link copies;
  again      the same URLs once more: all unchanged, so fetch + extract + hashing only;
  feed       one RSS feed whose entries are teasers linking to the 30 news pages, polled once
             (parse the feed, fetch and extract each article, ingest).

Each stage's seconds come from the service's own counters (fetch, extract, ingest); the share of
extraction is extract / wall. Runs are repeated R times; the table shows the fastest (other
processes only add time). Results go to bench/results/bench_feeds.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from httpx import Headers

from qa_service.config import Settings
from qa_service.models.loading import Models, load_models
from qa_service.service import QAService
from scripts.common import (
    SHARED_EVAL,
    load_average,
    load_jsonl,
    require,
    rss_mb,
    table,
    write_results,
)
from tests.support.newsroom import NewsServer, article_page, news_server, rss

REQUEST_URLS = 50


def pages(limit: int) -> list[tuple[str, str, str]]:
    """(path, title, text) of every dev-set document."""
    out = []
    for name in ("news_summaries_dev.jsonl", "squad_v2_dev.jsonl"):
        for r in load_jsonl(require(SHARED_EVAL / name)):
            if r.get("type", "document") == "document":
                out.append((f"/a/{r['id']}", r["title"], r["text"]))
    return out[:limit] if limit else out


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir, generator="none", fetch_allow_private=True, feed_polling=False
    )


def run_urls(models: Models, server: NewsServer, paths: list[str]) -> dict[str, Any]:
    urls = [server.url(p) for p in paths]
    with tempfile.TemporaryDirectory(prefix="qa-bench-feeds-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            runs = {}
            for name in ("urls", "again"):
                service.news.timings = dict.fromkeys(service.news.timings, 0.0)
                t0 = time.perf_counter()
                results = []
                for i in range(0, len(urls), REQUEST_URLS):
                    results += service.news.ingest_urls(urls[i : i + REQUEST_URLS])
                wall = time.perf_counter() - t0
                statuses = [r.status for r in results]
                runs[name] = {
                    "wall_s": wall,
                    **{f"{k}_s": v for k, v in service.news.timings.items()},
                    "created": statuses.count("created"),
                    "unchanged": statuses.count("unchanged"),
                    "failed": statuses.count("failed"),
                    "duplicates": sum(r.duplicate_of is not None for r in results),
                    "chunks": sum(r.chunks for r in results if r.status == "created"),
                }
        finally:
            service.close()
    return runs


def run_feed(
    models: Models, server: NewsServer, news: list[tuple[str, str, str]]
) -> dict[str, Any]:
    items = [
        {"title": title, "link": server.url(path), "guid": path, "description": text[:150]}
        for path, title, text in news
    ]
    server.set_feed("/feed.xml", rss("Bench Times", items))
    with tempfile.TemporaryDirectory(prefix="qa-bench-feeds-") as tmp:
        service = QAService(settings_for(Path(tmp)), models)
        try:
            from qa_service.schemas import FeedIn

            feed, _ = service.news.registry.add(FeedIn(url=server.url("/feed.xml")))
            service.news.timings = dict.fromkeys(service.news.timings, 0.0)
            t0 = time.perf_counter()
            info = service.news.refresh_feed(feed.id)
            wall = time.perf_counter() - t0
        finally:
            service.close()
    return {
        "wall_s": wall,
        **{f"{k}_s": v for k, v in service.news.timings.items()},
        "entries": info.entries_seen,
        "ingested": info.entries_ingested,
        "failed": info.entries_failed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N documents")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each stage (default 3)")
    args = ap.parse_args()
    load_start = load_average(warn=True)
    docs = pages(args.limit)
    news = [d for d in docs if d[0].startswith("/a/summeval")]
    t0 = time.perf_counter()
    models = load_models(Settings(generator="none"))
    print(f"embedder loaded in {time.perf_counter() - t0:.1f}s; {len(docs)} pages")
    with news_server() as server:
        for path, title, text in docs:
            paragraphs = [p for p in text.split("\n") if p.strip()] or [text]
            server.set_page(path, article_page(title, paragraphs, site="Bench Times"))
        html_bytes = sum(len(r.body) for r in server.routes.values())
        models.embedder.embed(["warm-up"] * 8)
        from qa_service.ingest.extract import extract_article
        from qa_service.ingest.fetch import Fetched

        page = server.routes[docs[0][0]].body  # trafilatura's first call loads its resources
        extract_article(Fetched(server.url(docs[0][0]), 200, Headers(), page))
        url_runs, feed_runs = [], []
        for i in range(args.repeats):
            url_runs.append(run_urls(models, server, [p for p, _, _ in docs]))
            feed_runs.append(run_feed(models, server, news) if news else {})
            u = url_runs[-1]
            print(
                f"run {i + 1}/{args.repeats}: {u['urls']['wall_s']:.1f}s for {len(docs)} URLs "
                f"(fetch {u['urls']['fetch_s']:.1f}, extract {u['urls']['extract_s']:.1f}, "
                f"ingest {u['urls']['ingest_s']:.1f}); again {u['again']['wall_s']:.1f}s"
                + (f"; feed {feed_runs[-1]['wall_s']:.1f}s" if news else "")
            )
    best_urls = min(url_runs, key=lambda r: r["urls"]["wall_s"])
    best_again = min((r["again"] for r in url_runs), key=lambda r: r["wall_s"])
    best_feed = min(feed_runs, key=lambda r: r.get("wall_s", 0.0))
    rows = []
    for name, r, n in (
        ("urls (new)", best_urls["urls"], len(docs)),
        ("urls (again, unchanged)", best_again, len(docs)),
        ("feed with teasers", best_feed, len(news)),
    ):
        if not r:
            continue
        wall = r["wall_s"]
        rows.append(
            [name, n, round(n / wall, 1), f"{r['fetch_s'] / wall:.1%}",
             f"{r['extract_s'] / wall:.1%}", f"{r['ingest_s'] / wall:.1%}"]
        )  # fmt: skip
    load_end = load_average()
    print()
    print(table(["run", "URLs", "URLs/s", "fetch", "extract", "ingest (embed+store)"], rows))
    print(f"\nload average {load_start} -> {load_end}; {html_bytes / 1e6:.1f} MB of HTML served")
    path = write_results(
        "bench_feeds",
        {
            "pages": len(docs),
            "news_pages": len(news),
            "html_bytes": html_bytes,
            "request_urls": REQUEST_URLS,
            "urls_per_s": round(len(docs) / best_urls["urls"]["wall_s"], 2),
            "urls_per_s_unchanged": round(len(docs) / best_again["wall_s"], 2),
            "feed_entries_per_s": round(len(news) / best_feed["wall_s"], 2) if news else None,
            "extract_share": round(best_urls["urls"]["extract_s"] / best_urls["urls"]["wall_s"], 3),
            "fetch_share": round(best_urls["urls"]["fetch_s"] / best_urls["urls"]["wall_s"], 3),
            "ingest_share": round(best_urls["urls"]["ingest_s"] / best_urls["urls"]["wall_s"], 3),
            "table": rows,
            "rss_mb": round(rss_mb(), 1),
            "load_avg_start": load_start,
            "load_avg_end": load_end,
            "estimator": f"fastest of {args.repeats} runs",
            "runs": {"urls": url_runs, "feed": feed_runs},
        },
    )
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
