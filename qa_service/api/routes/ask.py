"""Grounded question answering."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from ...answer.answering import Answered
from ...answer.options import AskOptions
from ...errors import QAServiceError
from ...schemas import AskRequest, AskResponse
from ..deps import ReadAccess, ServiceDep
from ..streaming import event_stream, problem_event, sse

router = APIRouter(dependencies=[ReadAccess], tags=["answers"])

_STREAM_DOC = {
    200: {
        "description": "JSON, or with `stream: true` Server-Sent Events: `delta` {text} pieces of "
        "the answer; `reset` {reason} when text streamed so far is withdrawn (a generated answer "
        "failed verification; the deltas that follow replace it); one `citations` event with "
        "the full response object; then `done`. An `error` event carries a problem object.",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/ask", response_model=AskResponse, responses=_STREAM_DOC)  # type: ignore[arg-type]
def ask(body: AskRequest, service: ServiceDep) -> AskResponse | EventSourceResponse:
    """Answer from the articles with sentence-level citations, or say they don't cover it."""
    options = AskOptions.of(body)
    if not body.stream:
        return service.ask(body.question, options)
    events = service.ask_events(body.question, options)

    def stream() -> Iterator[dict[str, str]]:
        try:
            for item in events:
                if isinstance(item, Answered):
                    yield sse("citations", item.response.model_dump())
                    yield sse("done", {"timings_ms": item.response.timings_ms})
                else:
                    kind, text = item
                    yield sse(kind, {"text": text} if kind == "delta" else {"reason": text})
        except QAServiceError as e:
            yield problem_event(e)

    return event_stream(stream())
