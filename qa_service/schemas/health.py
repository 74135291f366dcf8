"""Liveness and readiness."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready", "starting", "failed"]
    documents: int | None = None
    chunks: int | None = None
    index: dict[str, Any] | None = Field(
        None, description="Vector index kind and size, BM25 size: they equal `chunks` when in step."
    )
    models: dict[str, str | None] | None = None
    generator: dict[str, Any] | None = Field(
        None,
        description="A generator server's last probe (QA_GENERATOR=openai): reachable, "
        "model_present, chat. Informational: a server that is down costs the phrasing only.",
    )
    detail: str | None = None
