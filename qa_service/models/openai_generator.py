"""Generator backend: any OpenAI-compatible server (llama.cpp, Ollama, vLLM, transformers serve).

The server only phrases text: what reaches the user is decided by the same verification as for
the in-process models (``answering.py``, ``grounding.py``). Connection errors and timeouts become
``GeneratorUnavailable``, so an answer falls back to the extractive one instead of failing.

Chat or plain completions: with ``QA_GENERATOR_CHAT=auto`` a background probe sends a one-token
chat request; when it fails and a plain completion works, the model has no chat template
(``transformers serve`` answers 500 for a base model) and our few-shot prompt goes to
``/completions`` from then on. Until the probe has decided, a failed chat request is retried as a
completion in the same way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from ..config import Settings
from ..errors import GeneratorUnavailable
from .generation import GeneratorBase, TextStream, cut_stream

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

#: Marks a prompt that carries chat messages (JSON) rather than text: the ``Generator``
#: interface passes prompts as strings, and a server applies its own chat template.
CHAT_PREFIX = "\x00chat-messages\x00"
#: The OpenAI API accepts at most four stop sequences; the rest are cut here.
_MAX_SERVER_STOPS = 4
#: Seconds a /ready probe result stays fresh.
PROBE_TTL_S = 15.0


def flatten(messages: list[dict[str, str]]) -> str:
    """Chat messages as one plain prompt, for a model without a chat template."""
    parts = [m["content"] for m in messages]
    return "\n\n".join(parts) + "\n\nAnswer:"


class OpenAIGenerator(GeneratorBase):
    """Streams completions from an OpenAI-compatible server with the official ``openai`` client.

    Greedy (``temperature=0``), with the stop sequences sent to the server and applied again
    here (servers differ in how they honour them).
    """

    def __init__(self, settings: Settings) -> None:
        import openai

        self.url = settings.generator_url.rstrip("/")
        self.model = settings.generator_model
        self.name = f"{self.model}@{self.url}"
        key = settings.generator_api_key
        self._client = openai.OpenAI(
            base_url=self.url,
            # the client insists on a key; local servers ignore it
            api_key=key.get_secret_value() if key is not None else "not-needed",
            timeout=settings.generator_request_timeout_s,
            max_retries=settings.generator_retries,
        )
        self._probe_client = self._client.with_options(timeout=3.0, max_retries=0)
        self._chat: bool | None = {"true": True, "false": False}.get(settings.generator_chat)
        self._health: dict[str, Any] = {"url": self.url, "model": self.model, "reachable": None}
        self._checked = 0.0
        self._probing = threading.Lock()
        self.refresh_health()  # in the background: start-up never waits for the server

    @property
    def is_chat(self) -> bool:
        """Chat messages unless the settings or the server said otherwise."""
        return self._chat is not False

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        # The server applies the model's template; the messages travel inside the prompt.
        return CHAT_PREFIX + json.dumps(messages)

    # --- health -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The last probe of ``GET {url}/models`` (never blocks; refreshes in the background)."""
        if time.monotonic() - self._checked > PROBE_TTL_S:
            self.refresh_health()
        return dict(self._health, chat=self._chat)

    def refresh_health(self) -> None:
        if not self._probing.acquire(blocking=False):
            return  # a probe is already running
        threading.Thread(target=self._probe, name="generator-probe", daemon=True).start()

    def _probe(self) -> None:
        import openai

        try:
            ids = [m.id for m in self._probe_client.models.list()]
            present = self.model in ids
            self._health = {
                "url": self.url,
                "model": self.model,
                "reachable": True,
                "model_present": present,
                "detail": None if present else f"the server lists {ids[:5]}",
            }
            if present and self._chat is None:
                self._probe_chat()
        except openai.APIError as e:
            self._health = {
                "url": self.url,
                "model": self.model,
                "reachable": isinstance(e, openai.APIStatusError),
                "model_present": None,
                "detail": _describe(e),
            }
        finally:
            self._checked = time.monotonic()
            self._probing.release()

    def _learn_chat(self, chat: bool) -> None:
        if self._chat is None:
            log.info("%s: %s", self.name, "chat" if chat else "no chat template: completions")
        self._chat = chat

    def _probe_chat(self) -> None:
        """One-token chat request, then a completion if it fails: decides ``is_chat`` before
        the first question when ``QA_GENERATOR_CHAT=auto``."""
        import openai

        client = self._client.with_options(timeout=30.0, max_retries=0)
        hello = cast("list[ChatCompletionMessageParam]", [{"role": "user", "content": "Hello"}])
        try:
            client.chat.completions.create(model=self.model, messages=hello, max_tokens=1)
            self._learn_chat(True)
        except openai.APIStatusError:
            # Some servers (``transformers serve``) drop the kept-alive connection after the
            # error: the completion is retried on a fresh one rather than left undecided.
            try:
                client.with_options(max_retries=2).completions.create(
                    model=self.model, prompt="Hello", max_tokens=1
                )
                self._learn_chat(False)
            except openai.APIError:
                pass  # undecided: the first question decides
        except openai.APIError:
            pass  # reachable (it listed its models) but slow or flaky: the next probe retries

    # --- generation ---------------------------------------------------------------------------
    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        import openai

        messages: list[dict[str, str]] | None = None
        if prompt.startswith(CHAT_PREFIX):
            messages = json.loads(prompt[len(CHAT_PREFIX) :])
        try:
            if messages is not None and self._chat is not False:
                try:
                    yield from self._stream_chat(messages, max_new_tokens, stop)
                    self._chat = True
                    return
                except openai.APIStatusError as e:
                    if self._chat is True:
                        raise
                    # Not known yet: servers answer a model without a chat template with a
                    # 4xx/5xx whose body rarely says why. Plain completions working decides it.
                    log.info("chat request to %s failed (%s); trying completions", self.url, e)
                    yield from self._stream_completion(flatten(messages), max_new_tokens, stop)
                    self._learn_chat(False)
                    return
            text = flatten(messages) if messages is not None else prompt
            yield from self._stream_completion(text, max_new_tokens, stop)
        except openai.APIError as e:
            raise GeneratorUnavailable(f"{self.url}: {_describe(e)}") from e

    def _stream_chat(
        self, messages: list[dict[str, str]], max_new_tokens: int, stop: Sequence[str]
    ) -> Iterator[str]:
        chunks = self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            max_tokens=max_new_tokens,
            temperature=0.0,
            stop=list(stop)[:_MAX_SERVER_STOPS] or None,
            stream=True,
        )
        yield from _cut(
            (c.choices[0].delta.content or "" for c in chunks if c.choices), stop, chunks
        )

    def _stream_completion(
        self, prompt: str, max_new_tokens: int, stop: Sequence[str]
    ) -> Iterator[str]:
        chunks = self._client.completions.create(
            model=self.model,
            prompt=prompt,
            max_tokens=max_new_tokens,
            temperature=0.0,
            stop=list(stop)[:_MAX_SERVER_STOPS] or None,
            stream=True,
        )
        yield from _cut((c.choices[0].text or "" for c in chunks if c.choices), stop, chunks)


def _cut(pieces: Iterator[str], stop: Sequence[str], response: Any) -> Iterator[str]:
    """Yield ``pieces`` up to the first stop sequence; close the response when done early."""
    try:
        yield from cut_stream(pieces, stop)
    finally:
        response.close()  # the server stops generating when the connection closes


def _describe(error: Exception) -> str:
    """A short reason for a client error (no request bodies, never the API key)."""
    import openai

    if isinstance(error, openai.APITimeoutError):
        return "the generator server timed out"
    if isinstance(error, openai.APIConnectionError):
        return "the generator server is unreachable"
    if isinstance(error, openai.APIStatusError):
        return f"the generator server answered {error.status_code}: {str(error)[:200]}"
    return str(error)[:200]
