"""The types both storage backends share: documents, chunks, filters and search hits.

They live apart from the implementations so that the protocols, the Milvus backend and the
answering code can name them without importing SQLite or FAISS code.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

# The search modes are the API's; storage code names them from here.
from ..schemas import SearchMode as SearchMode

#: A function run inside a write transaction.
TxHook = Callable[[sqlite3.Connection], None]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def keyword_text(title: str | None, text: str) -> str:
    """What keyword search indexes for a chunk: its text, after the document's title if any."""
    return f"{title}\n{text}" if title else text


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: str
    text: str
    title: str | None = None
    url: str | None = None
    published_at: str | None = None
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    content_hash: str = ""
    index_hash: str = ""
    chunk_count: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A chunk joined with what a search result shows of its document."""

    id: int
    doc_id: str
    ord: int
    start: int
    end: int
    text: str
    title: str | None
    url: str | None
    published_at: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class NewChunk:
    ord: int
    start: int
    end: int
    vector: npt.NDArray[np.float32]


@dataclass(slots=True)
class DocumentWrite:
    """One document to write; ``chunks=None`` keeps the stored chunks (metadata-only change)."""

    doc: StoredDocument
    chunks: list[NewChunk] | None


@dataclass(frozen=True, slots=True)
class Filters:
    doc_ids: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    published_after: str | None = None
    published_before: str | None = None

    def is_empty(self) -> bool:
        return (
            self.doc_ids is None
            and self.sources is None
            and self.published_after is None
            and self.published_before is None
        )


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: ChunkRow
    score: float
    dense_score: float | None
    keyword_score: float | None
