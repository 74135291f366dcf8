"""Text generation behind a small interface (transformers by default; llama.cpp and
OpenAI-compatible servers optional).

The generator only phrases text; whether its output is used is decided by the verification in
``grounding.py``. Decoding is greedy with stop sequences and a short token budget, because the
default model is a 270M *base* model that loops and invents facts when left to run.
"""

from __future__ import annotations

import collections.abc
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

from ..config import DEFAULT_GENERATOR_MODEL, Settings
from ..errors import ModelError, Overloaded
from .cpu import cpu_has_bf16
from .embedding import resolve_device
from .paths import resolve_model

log = logging.getLogger(__name__)


#: Text pieces as they are decoded; ``close()`` stops the model at once (and frees its slot).
TextStream: TypeAlias = collections.abc.Generator[str, None, None]


@runtime_checkable
class Generator(Protocol):
    """Greedy text continuation with stop sequences."""

    name: str

    @property
    def is_chat(self) -> bool:
        """True when the model has a chat template (instruction-tuned): prompts are chat
        messages, rendered by ``apply_chat_template``."""
        ...

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str] = ()
    ) -> list[str]:
        """Continue each prompt; the output excludes the prompt and anything from a stop on."""
        ...

    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        """Continue one prompt, yielding text pieces as they are decoded (stops excluded).

        Raises:
            Overloaded: no generation slot is free (``LimitedGenerator``; HTTP 503).
            GeneratorUnavailable: a generator server is down or too slow.
        """
        ...

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        """Render chat messages into the model's prompt format (chat models only)."""
        ...


@runtime_checkable
class CountsTokens(Protocol):
    """A generator whose tokenizer is loaded in this process (not a server's)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """Each text's length in the generator's tokens, None when no tokenizer is at hand."""
        ...


@runtime_checkable
class ReportsHealth(Protocol):
    """A generator with health of its own to report (a server's reachability)."""

    def health(self) -> dict[str, Any] | None:
        """The last probe's result (never waits for the server), None when there is none."""
        ...


@runtime_checkable
class Placed(Protocol):
    """A generator that runs on a device of this machine (``"cpu"``, ``"cuda"``, ``"mps"``)."""

    device: str


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first stop sequence, and whether one was found."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


def cut_stream(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Yield streamed ``pieces`` up to the first stop sequence, holding back only the tail that
    could be the start of one (shared by every streaming backend)."""
    hold = max((len(s) for s in stop), default=0)
    buffer = ""
    for piece in pieces:
        buffer += piece
        text, stopped = cut_at_stop(buffer, stop)
        if stopped:
            if text:
                yield text
            return
        safe = len(buffer) - hold
        if safe > 0:
            yield buffer[:safe]
            buffer = buffer[safe:]
    if buffer:
        yield buffer


def pick_dtype(device: str) -> str:
    """bfloat16 on GPUs and on CPUs with native bf16, else float32."""
    if device != "cpu":
        return "bfloat16"
    return "bfloat16" if cpu_has_bf16() else "float32"


def resolve_generator_model(settings: Settings) -> str:
    """A local folder (as given, or under ``models_dir``) or else a Hugging Face id."""
    return resolve_model(
        settings.generator_model,
        settings.models_dir,
        default=DEFAULT_GENERATOR_MODEL,
        missing=f"The default generator is not prepared in {settings.models_dir}/. Run "
        "`make models` (or `qa-service prepare-models`) once, or set QA_GENERATOR=none.",
    )


class GeneratorBase:
    """``generate`` for backends that implement ``stream``: one code path for both."""

    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        raise NotImplementedError

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str] = ()
    ) -> list[str]:
        return ["".join(self.stream(p, max_new_tokens=max_new_tokens, stop=stop)) for p in prompts]


class TransformersGenerator(GeneratorBase):
    """A causal LM through transformers, greedy, one generation at a time per instance."""

    def __init__(
        self, model: str, *, device: str = "auto", dtype: str = "auto", name: str | None = None
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = resolve_device(device)
        if dtype == "auto":
            dtype = pick_dtype(self.device)
        try:
            self._tok = AutoTokenizer.from_pretrained(model)
            torch_dtype = getattr(torch, dtype)
            self._model = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype)
        except Exception as e:
            raise ModelError(f"Could not load generator model {model!r}: {e}") from e
        self._model.eval()  # type: ignore[no-untyped-call]
        self._model.to(self.device)  # type: ignore[arg-type]
        self.name = name or model
        self.is_chat = getattr(self._tok, "chat_template", None) is not None
        self._lock = threading.Lock()
        self.dtype = dtype
        log.info(
            "generator %s loaded on %s as %s (chat template: %s)",
            model,
            self.device,
            dtype,
            self.is_chat,
        )

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        rendered = self._tok.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return str(rendered)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text in this model's tokenizer (the chat API's ``usage``)."""
        return [len(self._tok(t, add_special_tokens=False)["input_ids"]) for t in texts]

    def _inputs(self, prompt: str) -> Any:
        # Chat templates already contain the BOS token; do not add a second one.
        return self._tok(prompt, return_tensors="pt", add_special_tokens=not self.is_chat).to(
            self.device
        )

    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        # Stop sequences are matched here on the decoded text, not with transformers'
        # ``stop_strings``: that one rebuilds a table over the whole vocabulary on every call
        # (262k tokens for Gemma: +0.7-1.7 s per answer).
        streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
        enc = self._inputs(prompt)
        error: list[BaseException] = []
        cancelled = threading.Event()

        class _Cancel(StoppingCriteria):
            """Ends generation once a stop sequence is seen or the consumer stops reading."""

            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return cancelled.is_set()

        def run() -> None:
            try:
                with torch.inference_mode():
                    self._model.generate(
                        **enc,
                        max_new_tokens=max_new_tokens,
                        do_sample=False,
                        pad_token_id=self._tok.pad_token_id or self._tok.eos_token_id,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Cancel()]),
                    )
            except BaseException as e:  # surfaced in the consumer below
                error.append(e)
                streamer.end()  # type: ignore[no-untyped-call]

        with self._lock:
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
            try:
                yield from cut_stream(streamer, stop)
            finally:
                cancelled.set()
                thread.join()
        if error:
            raise ModelError(f"generation failed: {error[0]}") from error[0]


class LimitedGenerator(GeneratorBase):
    """Bounds concurrent generations: ``workers`` run, up to ``queue`` wait (each at most
    ``timeout_s``), and a request beyond that is refused with ``Overloaded`` (HTTP 503 with
    Retry-After) instead of piling up behind a model that runs one prompt at a time.

    Each generation also runs at most ``max_s`` seconds: then it is stopped and the text so far
    is returned, to be verified like any other (an unverifiable answer falls back to the
    extractive one), so no request waits on a slow model without end."""

    def __init__(
        self,
        inner: Generator,
        *,
        workers: int,
        queue: int,
        timeout_s: float,
        max_s: float = float("inf"),
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.device = inner.device if isinstance(inner, Placed) else "cpu"
        self._slots = threading.BoundedSemaphore(workers)
        self._admitted = threading.BoundedSemaphore(workers + queue)
        self._timeout_s = timeout_s
        self._max_s = max_s

    @property
    def is_chat(self) -> bool:
        # read through: a server-backed generator learns it on its first request
        return self.inner.is_chat

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """Token counts in the backend's tokenizer, None when none is loaded here (a server)."""
        if not isinstance(self.inner, CountsTokens):
            return None
        counts = self.inner.count_tokens(texts)
        return None if counts is None else list(counts)

    def health(self) -> dict[str, Any] | None:
        """The backend's own health (a generator server's reachability), if it has one."""
        return self.inner.health() if isinstance(self.inner, ReportsHealth) else None

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        return self.inner.apply_chat_template(messages)

    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        if not self._admitted.acquire(blocking=False):
            raise Overloaded("The generator is busy; retry shortly.")
        try:
            if not self._slots.acquire(timeout=self._timeout_s):
                raise Overloaded(
                    f"No generator slot within {self._timeout_s:.0f} s; retry shortly."
                )
            try:
                deadline = time.monotonic() + self._max_s
                pieces = self.inner.stream(prompt, max_new_tokens=max_new_tokens, stop=stop)
                try:
                    for piece in pieces:
                        yield piece
                        if time.monotonic() > deadline:
                            log.warning("generation stopped after %.0f s", self._max_s)
                            break
                finally:
                    pieces.close()  # stops the model at once
            finally:
                self._slots.release()
        finally:
            self._admitted.release()
