"""The ``qa-service`` command line: serve, ingest, ask, summarize, migrate, prepare-models."""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import QAServiceError
from .common import cli_settings, configure_cli_logging, console, open_service, out, with_service
from .digest import digest_markdown
from .feeds import feeds_app

if TYPE_CHECKING:
    from ..service import QAService

app = typer.Typer(
    help="Question answering and summaries over news articles, with exact citations.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(feeds_app, name="feeds")

log = logging.getLogger("qa_service")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address [env QA_HOST, default 127.0.0.1]"),
    port: int | None = typer.Option(None, help="Port [env QA_PORT, default 8000]"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    ray: bool = typer.Option(False, "--ray", help="Serve replicas with Ray Serve"),
    replicas: int = typer.Option(2, min=1, help="Ray Serve replicas (with --ray)"),
    ray_address: str | None = typer.Option(
        None, envvar="RAY_ADDRESS", help="Existing Ray cluster (default: a local instance)"
    ),
    cpus_per_replica: float = typer.Option(1.0, min=0.1, help="Ray CPUs reserved per replica"),
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from ..api import create_app

    settings = cli_settings(host=host, port=port, data_dir=data_dir)
    configure_cli_logging(settings.log_level, settings.log_format)
    if ray:
        from ..ray_serve import run

        run(settings, replicas, ray_address, cpus_per_replica)
        return
    if not settings.api_keys and not _is_loopback(settings.host):
        log.warning(
            "listening on %s without QA_API_KEYS: anyone who can reach this address can read "
            "and change the index",
            settings.host,
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # keep our handlers (JSON lines with request ids)
        access_log=False,  # the request middleware writes one access line per request
        timeout_graceful_shutdown=10,
    )


def _is_url(arg: str) -> bool:
    return arg.lower().startswith(("http://", "https://"))


@app.command()
def ingest(
    paths: list[str] = typer.Argument(
        ..., help="Files or folders (.txt .md .html .json .jsonl), or http(s) URLs of articles"
    ),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    batch_size: int = typer.Option(64, min=1, help="Documents per write"),
) -> None:
    """Ingest files, folders (recursively) and article URLs; one bad one does not stop the rest."""
    from ..ingest.loaders import LoadError, iter_files, load_file

    settings = cli_settings(data_dir=data_dir)
    configure_cli_logging("warning")
    urls = [p for p in paths if _is_url(p)]
    files = list(iter_files([Path(p) for p in paths if not _is_url(p)]))
    if not files and not urls:
        console.print("[yellow]No supported files found.[/yellow]")
        raise typer.Exit(1)
    service = open_service(settings)
    counts: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("ingesting", total=len(files))
            for path in files:
                progress.update(task, description=f"ingesting {path.name[:40]}")
                try:
                    docs = load_file(path).documents
                    for i in range(0, len(docs), batch_size):
                        for result in service.ingest(docs[i : i + batch_size]):
                            counts[result.status] += 1
                    if not docs:
                        failures.append((str(path), "no documents in the file"))
                except (LoadError, QAServiceError) as e:
                    failures.append((str(path), str(e)))
                progress.advance(task)
            _ingest_urls(service, urls, counts, failures)
    finally:
        service.close()
    what = f"{len(files)} file(s)" + (f" and {len(urls)} URL(s)" if urls else "")
    table = Table(title=f"Ingested {what} into {settings.data_dir}")
    for name in ("created", "updated", "unchanged", "failed"):
        table.add_column(name, justify="right")
    table.add_row(
        str(counts["created"]), str(counts["updated"]), str(counts["unchanged"]), str(len(failures))
    )
    out.print(table)
    for path_str, reason in failures:
        console.print(f"[red]failed[/red] {path_str}: {reason}")
    if failures:
        raise typer.Exit(1)


def _ingest_urls(
    service: QAService, urls: list[str], counts: Counter[str], failures: list[tuple[str, str]]
) -> None:
    """Fetch and ingest article URLs, counting outcomes like files."""
    step = service.settings.max_urls_per_request
    for i in range(0, len(urls), step):
        for r in service.news.ingest_urls(urls[i : i + step]):
            if r.status == "failed":
                failures.append((r.url, r.reason or "failed"))
                continue
            counts[r.status] += 1
            if r.duplicate_of:
                console.print(f"[dim]{r.url}: already stored as {r.duplicate_of}[/dim]")


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question"),
    mode: str = typer.Option("auto", help="auto | extractive | generative"),
    top_k: int = typer.Option(5, min=1, max=50, help="Chunks retrieved as evidence"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    as_json: bool = typer.Option(False, "--json", help="Print the full response as JSON"),
) -> None:
    """Answer a question from the ingested articles and print the cited quotes."""
    if mode not in ("auto", "extractive", "generative"):
        console.print("[red]--mode must be auto, extractive or generative[/red]")
        raise typer.Exit(2)
    from ..answer.options import AskOptions
    from ..schemas import AskMode

    options = AskOptions(top_k=top_k, mode=cast(AskMode, mode))
    response = with_service(data_dir, lambda service: service.ask(question, options))
    if as_json:
        out.print_json(response.model_dump_json())
        return
    out.print(response.answer, markup=False, highlight=False)
    for c in response.citations:
        where = ", ".join(x for x in (c.source, (c.published_at or "")[:10]) if x)
        out.print(
            f"\n[{c.id}] {c.title or c.doc_id} ({c.doc_id}, chars {c.start}-{c.end})"
            + (f" {where}" if where else ""),
            markup=False,
        )
        out.print(f'    "{c.quote}"', markup=False, highlight=False)
    if response.fallback_reason:
        console.print(f"[dim]({response.grounding} answer: {response.fallback_reason})[/dim]")


@app.command()
def summarize(
    target: str | None = typer.Argument(None, help="A document id, or a text file to summarize"),
    query: str | None = typer.Option(None, help="Summarize the articles this query finds"),
    sentences: int = typer.Option(3, min=1, max=20, help="Sentences in the summary"),
    mode: str = typer.Option("auto", help="auto | extractive | abstractive"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    as_json: bool = typer.Option(False, "--json", help="Print the full response as JSON"),
) -> None:
    """Summarize a stored document, what a query finds, or a text file."""
    from ..schemas import SummarizeRequest

    if (target is None) == (query is None):
        console.print("[red]Give a document id or file, or --query (not both).[/red]")
        raise typer.Exit(2)
    fields: dict[str, Any] = {"max_sentences": sentences, "mode": mode}
    if query is not None:
        fields["query"] = query
    elif target is not None and Path(target).is_file():
        fields["text"] = Path(target).read_text(encoding="utf-8")
    else:
        fields["doc_id"] = target
    try:
        request = SummarizeRequest(**fields)
    except ValueError as e:
        console.print(f"[red]Invalid request:[/red] {e}")
        raise typer.Exit(2) from e
    response = with_service(data_dir, lambda service: service.summarize(request))
    if as_json:
        out.print_json(response.model_dump_json())
        return
    for s in response.sentences:
        where = ", ".join(f"{c.doc_id or 'text'} {c.start}-{c.end}" for c in s.citations)
        out.print(f"- {s.text}  [{where}]", markup=False, highlight=False)
    if response.fallback_reason:
        console.print(f"[dim]({response.mode}: {response.fallback_reason})[/dim]")


@app.command()
def digest(
    since: str = typer.Option(
        "24h", help="An RFC 3339 time, or a span back from now: 90m, 24h, 7d"
    ),
    source: list[str] = typer.Option([], help="Only articles of this source (repeatable)"),
    feed: list[str] = typer.Option([], help="Only articles of this feed id (repeatable)"),
    stories: int = typer.Option(10, min=1, max=100, help="Stories at most"),
    sentences: int = typer.Option(3, min=1, max=20, help="New developments per story"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    as_json: bool = typer.Option(False, "--json", help="Print the full response as JSON"),
) -> None:
    """Print what is new in each story since a time, as Markdown with cited sources."""
    from ..schemas import DigestRequest

    request = DigestRequest(
        since=since,
        sources=source or None,
        feeds=feed or None,
        max_stories=stories,
        max_sentences=sentences,
    )
    response = with_service(data_dir, lambda service: service.story_desk.digest(request))
    if as_json:
        out.print_json(response.model_dump_json())
        return
    out.print(digest_markdown(response), markup=False, highlight=False, soft_wrap=True)


@app.command()
def migrate(
    to: str = typer.Option(..., "--to", help="Target backend: milvus or faiss"),
    data_dir: Path | None = typer.Option(None, help="Data directory [env QA_DATA_DIR]"),
    milvus_uri: str | None = typer.Option(None, help="Milvus URI [env QA_MILVUS_URI]"),
) -> None:
    """Copy every document, chunk and vector into the other backend (no re-embedding)."""
    from ..storage.migrate import migrate as run_migration

    if to not in ("milvus", "faiss"):
        console.print("[red]--to must be milvus or faiss[/red]")
        raise typer.Exit(2)
    settings = cli_settings(data_dir=data_dir, milvus_uri=milvus_uri)
    configure_cli_logging("warning")
    source = "faiss" if to == "milvus" else "milvus"
    with Progress(TextColumn("copying"), BarColumn(), MofNCompleteColumn(), console=console) as bar:
        task = bar.add_task("copy", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            n = run_migration(settings, source, to, progress=progress)  # type: ignore[arg-type]
        except (ValueError, QAServiceError) as e:
            console.print(f"[red]Cannot migrate:[/red] {e}")
            raise typer.Exit(1) from e
    out.print(f"copied {n} documents from {source} to {to}; start with QA_VECTOR_STORE={to}")


@app.command("prepare-models")
def prepare_models(
    models_dir: Path | None = typer.Option(None, help="Where to put them [env QA_MODELS_DIR]"),
    force: bool = typer.Option(False, help="Convert again even if present"),
    onnx: bool = typer.Option(
        False, "--onnx", help="Also export the embedding model to ONNX (QA_EMBEDDING_BACKEND=onnx)"
    ),
) -> None:
    """Convert the default generator (shipped on PyPI as GGUF) once into models/."""
    from ..models.prepare import prepare_generator, prepare_onnx

    settings = cli_settings(models_dir=models_dir)
    configure_cli_logging("info")
    path = prepare_generator(settings.models_dir, force=force)
    out.print(f"generator ready at {path}")
    if onnx:
        try:
            onnx_path = prepare_onnx(settings.models_dir, force, model=settings.embedding_model)
        except QAServiceError as e:
            console.print(f"[red]{e.title}:[/red] {escape(e.detail)}")
            raise typer.Exit(1) from e
        out.print(f"ONNX embedding model ready at {onnx_path}")
