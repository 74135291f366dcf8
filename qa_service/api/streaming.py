"""Server-Sent Events from the service's synchronous iterators, closed when the client leaves.

The model work behind a stream runs in a worker thread one step at a time. When the client
disconnects, the iterator must be *closed*, not merely abandoned: closing runs its ``finally``
blocks, which stop the generation and give the generator slot back. An abandoned iterator keeps
the slot until the garbage collector gets to it (minutes, measured).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from ..errors import QAServiceError
from .errors import problem_body

_END = None  # what next() returns at the end (events are dicts)


def sse(event: str | None, data: Any) -> dict[str, str]:
    """One event; ``event=None`` for plain ``data:`` lines (what OpenAI clients expect)."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return {"data": payload} if event is None else {"event": event, "data": payload}


def problem_event(error: QAServiceError) -> dict[str, str]:
    """An ``error`` event carrying the problem body an HTTP error response would have."""
    return sse(
        "error", problem_body(error.status, error.detail, slug=error.slug, title=error.title)
    )


async def _closing(events: Iterable[dict[str, str]]) -> AsyncIterator[dict[str, str]]:
    iterator = iter(events)
    try:
        while True:
            item = await run_in_threadpool(next, iterator, _END)
            if not isinstance(item, dict):
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            # A step may still be running in its thread (cancelled mid-token): wait for it.
            for _ in range(600):
                try:
                    await run_in_threadpool(close)
                    break
                except ValueError:  # "generator already executing"
                    await asyncio.sleep(0.1)


def event_stream(events: Iterable[dict[str, str]]) -> EventSourceResponse:
    """An SSE response over a synchronous iterator of events."""
    return EventSourceResponse(_closing(events))
