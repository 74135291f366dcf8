"""Asynchronous ingestion jobs and their progress."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class JobFailure(BaseModel):
    index: int = Field(description="Position of the document in the posted batch.")
    id: str | None
    reason: str


class JobInfo(BaseModel):
    """An asynchronous ingestion job; its counts are exactly what has been stored so far."""

    id: str
    status: Literal["queued", "running", "done"]
    total: int
    done: int
    created: int
    updated: int
    unchanged: int
    failed: int
    failures: list[JobFailure]
    created_at: str
    updated_at: str


class JobList(BaseModel):
    jobs: list[JobInfo]
    total: int
