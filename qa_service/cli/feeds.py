"""``qa-service feeds add | list | remove | refresh``: follow RSS and Atom feeds.

Adding, listing and removing feeds touch only the feed tables (no model is loaded, so they answer
at once); a running server picks up the change within half a minute. ``refresh`` ingests, so it
loads the embedding model like ``ingest``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.table import Table

from ..errors import QAServiceError
from ..ingest.feeds import FeedRegistry
from ..ingest.feedstore import FeedStore
from ..ingest.fetch import Fetcher
from ..schemas import FeedIn, FeedInfo
from .common import cli_settings, configure_cli_logging, console, out, with_service

if TYPE_CHECKING:
    from ..service import QAService

T = TypeVar("T")
feeds_app = typer.Typer(
    help="Follow RSS and Atom feeds; `qa-service serve` polls them in the background.",
    no_args_is_help=True,
)


def _feed_registry(data_dir: Path | None, call: Callable[[FeedRegistry], T]) -> T:
    """Run one call on the feed registry of ``data_dir`` (no models are loaded)."""

    settings = cli_settings(data_dir=data_dir)
    configure_cli_logging("warning")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store, fetcher = FeedStore(settings.db_path), Fetcher(settings)
    try:
        return call(FeedRegistry(settings, store, fetcher))
    except QAServiceError as e:
        console.print(f"[red]{e.title}:[/red] {e.detail}")
        raise typer.Exit(1) from e
    finally:
        fetcher.close()
        store.close()


def _print_feeds(feeds: list[FeedInfo]) -> None:

    table = Table()
    for name in (
        "id",
        "title",
        "every",
        "status",
        "last fetch",
        "seen",
        "ingested",
        "dup",
        "failed",
    ):
        table.add_column(name)
    for f in feeds:
        table.add_row(
            f.id, f.title or f.url, f"{f.interval_minutes:g} min", f.status,
            f.last_fetch_at or "-", str(f.entries_seen), str(f.entries_ingested),
            str(f.entries_duplicate), str(f.entries_failed),
        )  # fmt: skip
    out.print(table)
    for f in feeds:
        if f.last_error:
            console.print(f"[red]{f.id}[/red]: {f.last_error}")


@feeds_app.command("add")
def feeds_add(
    url: str = typer.Argument(..., help="URL of an RSS or Atom feed"),
    interval: float | None = typer.Option(None, help="Minutes between polls [default 30]"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
) -> None:
    """Follow a feed (checked now; its entries are ingested by the server, or `feeds refresh`)."""

    feed, created = _feed_registry(
        data_dir, lambda r: r.add(FeedIn(url=url, interval_minutes=interval))
    )
    out.print(f"{'following' if created else 'already following'} {feed.url} as {feed.id}")


@feeds_app.command("list")
def feeds_list(
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Followed feeds and what their polls found."""

    feeds = _feed_registry(data_dir, lambda r: r.list())
    if as_json:
        out.print_json(feeds.model_dump_json())
    elif not feeds.feeds:
        out.print("No feeds followed: add one with `qa-service feeds add URL`.")
    else:
        _print_feeds(feeds.feeds)


@feeds_app.command("remove")
def feeds_remove(
    feed_id: str = typer.Argument(..., help="The feed's id (see `feeds list`)"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
) -> None:
    """Stop following a feed; the articles it brought stay."""

    _feed_registry(data_dir, lambda r: r.remove(feed_id))
    out.print(f"removed {feed_id}")


@feeds_app.command("refresh")
def feeds_refresh(
    feed_ids: list[str] = typer.Argument(None, help="Feed ids (default: every feed)"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
) -> None:
    """Poll feeds now and ingest their new entries (loads the embedding model)."""

    def refresh(service: QAService) -> list[FeedInfo]:
        ids = feed_ids or [f.id for f in service.news.registry.list().feeds]
        return [service.news.refresh_feed(i) for i in ids]

    _print_feeds(with_service(data_dir, refresh))
