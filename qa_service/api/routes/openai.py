"""OpenAI-compatible endpoints, for chat frontends and the official SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse

from ...errors import QAServiceError
from ..chat import ChatCompletion, ChatRequest, list_models
from ..deps import ReadAccess, ServiceDep
from ..errors import openai_error_body
from ..streaming import event_stream, sse

router = APIRouter(prefix="/v1", dependencies=[ReadAccess], tags=["openai"])


@router.get("/models")
def models(service: ServiceDep) -> dict[str, Any]:
    """The models served, in OpenAI's list shape (with the local models behind them)."""
    return list_models(service.model_info)


@router.post("/chat/completions", response_model=None)
def chat_completions(
    body: ChatRequest, service: ServiceDep
) -> dict[str, Any] | EventSourceResponse:
    """Grounded answers (model `qa-service`) or summaries (`qa-service-summary`) as chat
    completions; citations in the text's Sources list and in a top-level `citations` field."""
    completion = ChatCompletion(service, body)
    if not body.stream:
        return completion.response()

    def stream() -> Iterator[dict[str, str]]:
        try:
            for chunk in completion.chunks():
                yield sse(None, chunk)
        except QAServiceError as e:
            yield sse(None, openai_error_body(e.status, e.detail, None, e.slug))
        yield sse(None, "[DONE]")

    return event_stream(stream())
