"""Summaries of one article, several, what a query finds, or ad-hoc text."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from ...answer.summarizing import Summary
from ...errors import QAServiceError
from ...schemas import SummarizeRequest, SummarizeResponse
from ..deps import ReadAccess, ServiceDep
from ..streaming import event_stream, problem_event, sse

router = APIRouter(dependencies=[ReadAccess], tags=["summaries"])

_STREAM_DOC = {
    200: {
        "description": "JSON, or with `stream: true` Server-Sent Events: one `delta` {text} per "
        "summary sentence as it is final, then `summary` with the full response, then `done`.",
        "content": {"text/event-stream": {}},
    }
}


@router.post("/summarize", response_model=SummarizeResponse, responses=_STREAM_DOC)  # type: ignore[arg-type]
def summarize(
    body: SummarizeRequest, service: ServiceDep
) -> SummarizeResponse | EventSourceResponse:
    """Summarize; every sentence cites the exact source span(s) it comes from."""
    if not body.stream:
        return service.summarize(body)
    doc_ids, events = service.summarize_events(body)

    def stream() -> Iterator[dict[str, str]]:
        try:
            first = True
            for item in events:
                if isinstance(item, Summary):
                    response = service.summary_response(doc_ids, item)
                    yield sse("summary", response.model_dump())
                    yield sse("done", {"timings_ms": response.timings_ms})
                else:
                    yield sse("delta", {"text": ("" if first else " ") + item.text})
                    first = False
        except QAServiceError as e:
            yield problem_event(e)

    return event_stream(stream())
