"""What every ``qa-service`` command shares: the consoles, settings, logging, a service."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..config import Settings
from ..errors import QAServiceError

if TYPE_CHECKING:
    from ..service import QAService

T = TypeVar("T")

console = Console(stderr=True)
out = Console()


def cli_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as e:  # pydantic ValidationError: say which setting is wrong
        console.print(f"[red]Invalid settings:[/red] {e}")
        raise typer.Exit(2) from e


def configure_cli_logging(level: str, fmt: str = "text") -> None:
    from ..observability import configure_logging

    configure_logging(level, fmt)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    except ImportError:  # pragma: no cover
        pass


def open_service(settings: Settings) -> QAService:
    """The service over ``settings``. A store that cannot be opened (a Milvus that is unreachable
    or incompatible, collections from another embedding model) ends the command with exit code 1
    and the reason that ``/ready`` would give."""
    from ..models.loading import load_models
    from ..service import QAService

    try:
        return QAService(settings, load_models(settings))
    except QAServiceError as e:
        console.print(f"[red]{e.title}:[/red] {escape(e.detail)}")
        raise typer.Exit(1) from e


def with_service(data_dir: Path | None, call: Callable[[QAService], T]) -> T:
    """Run one call on a service over ``data_dir``; a service error ends the command (exit 1)."""
    settings = cli_settings(data_dir=data_dir)
    configure_cli_logging("warning")
    service = open_service(settings)
    try:
        return call(service)
    except QAServiceError as e:
        console.print(f"[red]{e.title}:[/red] {escape(e.detail)}")
        raise typer.Exit(1) from e
    finally:
        service.close()
