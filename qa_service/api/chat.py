"""OpenAI-compatible chat: the request and response shapes, and how a conversation becomes a
grounded answer or a summary.

* ``qa-service``: the latest user message is the question. When it reads like a follow-up (short,
  or opening with "and", "what about", a pronoun...) the previous user message joins the
  *retrieval* query, so "and what does Turkey want?" is answered from the same story; the answer
  is still scored and gated on the latest message alone.
* ``qa-service-summary``: summarizes the articles the latest user message asks about.

System messages may set the tone for a chat-template generator; the grounding rules, the
citations and the decision to answer stay with our code. ``temperature`` is accepted and ignored
(decoding is greedy); ``max_tokens`` caps the generator's budget; ``stop`` cuts the answer text.
An extra ``as_of`` field answers (or summarizes) from the articles published by then, as /ask's.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..answer.options import AskOptions, published_by
from ..errors import InvalidInput, NotFound
from ..models.generation import cut_at_stop
from ..schemas import Citation, ModelInfo, SearchFilters, SummarizeRequest, SummarizeResponse
from ..schemas.ask import Instant
from ..service import QAService
from ..text.recency import day_text, parse_time

ANSWER_MODEL = "qa-service"
SUMMARY_MODEL = "qa-service-summary"
MODELS = {
    ANSWER_MODEL: "Grounded answers with citations from the ingested articles.",
    SUMMARY_MODEL: "Summaries of the articles the latest message asks about.",
}
_CREATED = int(time.time())

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|why|how come)\b|"
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|those|these|there)\b",
    re.IGNORECASE,
)
_SUMMARY_CUE = re.compile(
    r"^\s*(please\s+)?(summari[sz]e|give me a summary of|sum up|tl;?dr( of)?|what is the "
    r"(latest|news) (on|about))[:\s]*",
    re.IGNORECASE,
)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text or "" for p in self.content or [] if p.type == "text")


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatRequest(BaseModel):
    """The fields we use; unknown fields are accepted and ignored, as OpenAI-compatible servers
    do."""

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    user: str | None = None
    n: int = Field(1, ge=1, le=1, description="Only one choice is produced.")
    stream_options: StreamOptions | None = None
    as_of: Instant | None = Field(
        None,
        description="Not OpenAI's: answer as of this time, as /ask's as_of (only articles "
        "published by then; undated ones are left out). Clients send it as an extra body field.",
    )


def list_models(info: ModelInfo) -> dict[str, Any]:
    """OpenAI's list shape; each entry also says which local models answer behind it (and
    whether ``auto`` phrases answers with the generator or quotes them)."""
    return {
        "object": "list",
        "data": [
            {
                "id": m,
                "object": "model",
                "created": _CREATED,
                "owned_by": "qa-service",
                "qa_service": info.model_dump(),
            }
            for m in MODELS
        ],
    }


def _conversation(req: ChatRequest) -> tuple[str, str | None, str | None]:
    """(question, context for retrieval, style) from the messages."""
    users = [m.text().strip() for m in req.messages if m.role == "user" and m.text().strip()]
    if not users:
        raise InvalidInput("messages must contain a user message with text", param="messages")
    question = users[-1]
    context = None
    if len(users) > 1 and (len(question.split()) <= 8 or _FOLLOW_UP.search(question)):
        context = users[-2]
    system = "\n".join(m.text() for m in req.messages if m.role in ("system", "developer"))
    return question, context, system.strip() or None


def _stops(stop: str | list[str] | None) -> list[str]:
    """The client's stop sequences (OpenAI's ``stop``: one string, a list, or none)."""
    return [stop] if isinstance(stop, str) else (stop or [])


def sources_text(citations: list[Citation]) -> str:
    """The citations as plain text, for clients that show only the message content."""
    if not citations:
        return ""
    lines = ["", "", "Sources:"]
    for c in citations:
        label = c.title or c.doc_id
        where = f" ({c.url})" if c.url else ""
        published = parse_time(c.published_at)
        about = [c.source or "", day_text(published) if published else ""]
        said = ", ".join(a for a in about if a)
        lines.append(f'[{c.id}] {label}{where}{", " + said if said else ""}: "{c.quote}"')
    return "\n".join(lines)


def summary_citations(service: QAService, resp: SummarizeResponse) -> list[Citation]:
    docs = service.store.get_documents(resp.doc_ids)
    out = []
    for i, sentence in enumerate(resp.sentences, start=1):
        c = sentence.citations[0]
        doc = docs.get(c.doc_id or "")
        out.append(
            Citation(
                id=i,
                doc_id=c.doc_id or "",
                title=doc.title if doc else None,
                url=doc.url if doc else None,
                start=c.start,
                end=c.end,
                quote=c.quote,
                score=1.0,
                published_at=doc.published_at if doc else None,
                source=doc.source if doc else None,
            )
        )
    return out


class ChatCompletion:
    """One chat completion request, run against the service (stream or not)."""

    def __init__(self, service: QAService, req: ChatRequest) -> None:
        if req.model not in MODELS:
            raise NotFound(
                f"The model {req.model!r} does not exist; use one of {sorted(MODELS)}.",
                param="model",
                code="model_not_found",
            )
        self.service = service
        self.req = req
        self.question, self.context, self.style = _conversation(req)
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.citations: list[Citation] = []
        self.answer = ""

    # --- running ------------------------------------------------------------------------------
    def _run(self) -> None:
        """Compute the answer text and citations (verified before anything is shown)."""
        if self.req.model == SUMMARY_MODEL:
            query = _SUMMARY_CUE.sub("", self.question).strip() or self.question
            if self.context and len(query.split()) <= 3:
                query = f"{self.context} {query}"
            by = SearchFilters(published_before=self.req.as_of) if self.req.as_of else None
            summary = self.service.summarize(
                SummarizeRequest(query=query, max_sentences=5, filters=by)
            )
            self.citations = summary_citations(self.service, summary)
            self.answer = (
                " ".join(f"{s.text} [{i}]" for i, s in enumerate(summary.sentences, start=1))
                or summary.summary
            )
            return
        budget = self.req.max_completion_tokens or self.req.max_tokens
        options = AskOptions(
            filters=published_by(None, self.req.as_of),
            context=self.context,
            style=self.style,
            max_new_tokens=budget,
        )
        resp = self.service.ask(self.question, options)
        self.answer, self.citations = resp.answer, resp.citations

    def _content(self) -> str:
        return cut_at_stop(self.answer, _stops(self.req.stop))[0] + sources_text(self.citations)

    def _usage(self, content: str) -> dict[str, int]:
        """The messages and the reply in the generator's tokens (``QAService.count_tokens``)."""
        *messages, completion = self.service.count_tokens(
            [*(m.text() for m in self.req.messages), content]
        )
        prompt = sum(messages)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _base(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": obj,
            "created": self.created,
            "model": self.req.model,
            "system_fingerprint": None,
        }

    def response(self) -> dict[str, Any]:
        """A ``chat.completion`` object, plus the structured ``citations``."""
        self._run()
        content = self._content()
        return {
            **self._base("chat.completion"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": self._usage(content),
            "citations": [c.model_dump() for c in self.citations],
        }

    def chunks(self) -> Iterator[dict[str, Any]]:
        """``chat.completion.chunk`` objects: role, the answer, the Sources text, then a final
        chunk with ``finish_reason`` and ``citations`` (and usage when asked)."""

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                **self._base("chat.completion.chunk"),
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }

        yield chunk({"role": "assistant", "content": ""})
        self._run()
        content = self._content()
        answer_part = content[: len(content) - len(sources_text(self.citations))]
        for piece in re.findall(r"\S+\s*|\s+", answer_part):
            yield chunk({"content": piece})
        sources = content[len(answer_part) :]
        if sources:
            yield chunk({"content": sources})
        final = chunk({}, "stop")
        final["citations"] = [c.model_dump() for c in self.citations]
        yield final
        if self.req.stream_options and self.req.stream_options.include_usage:
            yield {**self._base("chat.completion.chunk"), "choices": [],
                   "usage": self._usage(content)}  # fmt: skip
