"""The reader: a cross-encoder that scores how well a sentence answers a question.

Retrieval finds passages about the question; the reader decides which sentence *answers* it and
whether any does. It reads ``[CLS] question [SEP] sentence [SEP]`` and returns

* ``score``: the probability that the sentence answers the question (the abstention gate is a
  threshold on it, calibrated by ``scripts/eval/qa.py``), and
* ``span``: the shortest answer inside the sentence (character offsets into the sentence), when
  the model has a span head and finds one.

Three kinds of model load behind the same ``Reader`` interface:

* our own (``models/reader/``, trained by ``scripts/train/reader.py``): a BERT encoder with a
  score head and a span head (``reader_net``), shipped as int8 ONNX (run on onnxruntime)
  beside a ``reader.json``; training checkpoints are fp16 safetensors (run on torch);
* any sequence-classification cross-encoder (one logit = relevance, or two classes), e.g.
  ``cross-encoder/ms-marco-MiniLM-L6-v2``, run by ``sentence_transformers.CrossEncoder``:
  scores only;
* any extractive question-answering model (SQuAD 2.0 style, start/end logits): the span with
  the best start+end logit against the no-answer logit gives both score and span.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..config import DEFAULT_READER_MODEL
from ..errors import ModelError
from .onnx import make_session
from .paths import resolve_model

if TYPE_CHECKING:
    import torch

    from ..config import Settings

log = logging.getLogger(__name__)

#: The file that marks a folder as one of our own readers.
READER_CONFIG = "reader.json"
#: Our shipped reader, int8 ONNX (run on onnxruntime).
ONNX_FILE = "model.onnx"
#: Longest answer span, in tokens.
MAX_SPAN_TOKENS = 24


@dataclass(frozen=True, slots=True)
class Reading:
    """The reader's verdict on one (question, sentence) pair."""

    score: float
    #: ``(start, end)`` of the short answer inside the sentence, or None.
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One question and the sentences to score as its answer (``contexts``: see ``read``)."""

    question: str
    sentences: Sequence[str]
    contexts: Sequence[str] | None = None


@runtime_checkable
class Reader(Protocol):
    """Scores sentences as answers to a question (one batch per question)."""

    name: str
    #: The calibrated abstention threshold shipped with the model (None: the caller decides).
    threshold: float | None

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[Reading]:
        """One ``Reading`` per sentence, in order (none for no sentences). ``contexts`` (one per
        sentence, from ``reader_context``) are read by models trained with them and ignored by
        others. Thread-safe; long input is truncated, never an error."""
        ...


class BatchReader(Reader, Protocol):
    """A Reader that also reads several questions' sentences in one call (for batching across
    requests, ``models.batching``)."""

    def read_batch(self, requests: Sequence[ReadRequest]) -> list[list[Reading]]:
        """The readings of each request, in order, as ``read`` gives them (float models: up to
        float rounding, since requests share padded passes)."""
        ...


#: Characters of context a sentence gets (title and previous sentence): about 40 tokens.
CONTEXT_CHARS = 200


def reader_context(title: str | None, previous: str | None) -> str:
    """What the reader reads beside a sentence: the document's title and the sentence before
    it, which say whom "he" or "the city" means. The same in training and in the service."""
    parts = [" ".join(p.split()) for p in (title, previous) if p and p.strip()]
    return " | ".join(parts)[:CONTEXT_CHARS]


def with_context(tokenizer: Any, sentence: str, context: str) -> str:
    """The second segment of a reader input: the sentence first (its spans keep their offsets;
    truncation cuts the context first), then a separator and the context."""
    return f"{sentence} {tokenizer.sep_token} {context}" if context else sentence


def best_span(
    start: Sequence[float], end: Sequence[float], allowed: Sequence[bool], max_len: int
) -> tuple[int, int, float] | None:
    """The token span ``(i, j)`` (inclusive) maximising ``start[i] + end[j]`` with ``i <= j``,
    both tokens allowed and at most ``max_len`` tokens long."""
    best: tuple[int, int, float] | None = None
    idx = [i for i, ok in enumerate(allowed) if ok]
    for a, i in enumerate(idx):
        for j in idx[a : a + max_len]:
            if j - i >= max_len:
                break
            s = start[i] + end[j]
            if best is None or s > best[2]:
                best = (i, j, s)
    return best


class TransformersReader:
    """A reader on torch (our own checkpoint, a cross-encoder, or a QA model) or, for our own
    shipped model, on ONNX Runtime (int8: 23 MB, about 2.5x faster than torch on a CPU).

    A cross-encoder runs through ``sentence_transformers.CrossEncoder`` (``_cross_encode``);
    ours and QA models are tokenized and padded here, since their spans need the offsets."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        max_length: int | None = None,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        from transformers import AutoConfig, AutoTokenizer

        self.device = device
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        path = Path(model)
        meta: dict[str, Any] = {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(model)
            if (path / READER_CONFIG).is_file():
                meta = json.loads((path / READER_CONFIG).read_text(encoding="utf-8"))
                self.kind = "own"
                torch_file = path / "model.safetensors"
                if (path / ONNX_FILE).is_file() and (device == "cpu" or not torch_file.is_file()):
                    self._session = make_session(
                        path / ONNX_FILE, threads or min(os.cpu_count() or 1, 4)
                    )
                else:
                    from safetensors.torch import load_file

                    from .reader_net import build_net

                    self.model = build_net(AutoConfig.from_pretrained(model))
                    state = load_file(str(torch_file))
                    self.model.load_state_dict({k: v.float() for k, v in state.items()})
            else:
                config = AutoConfig.from_pretrained(model)
                archs = " ".join(config.architectures or [])
                if "QuestionAnswering" in archs:
                    from transformers import AutoModelForQuestionAnswering

                    self.kind = "qa"
                    self.model = AutoModelForQuestionAnswering.from_pretrained(model)
                else:
                    from sentence_transformers import CrossEncoder

                    self.kind = "cross-encoder"
                    self.model = CrossEncoder(model, device=device)
        except Exception as e:  # any failure to load is a configuration error, said clearly
            raise ModelError(f"Could not load reader model {model!r}: {e}") from e
        if self._session is None:
            self.model.to(device).eval()
        #: Our ONNX export is int8, its activations quantized per forward pass (``read_batch``).
        self.quantized = self._session is not None
        self.max_length = int(max_length or meta.get("max_length", 256))
        #: Trained with the title and previous sentence beside each sentence (``with_context``).
        self.context = bool(meta.get("context", False))
        threshold = meta.get("threshold")
        self.threshold = float(threshold) if threshold is not None else None
        self.name = str(meta.get("name") or model)
        backend = "onnxruntime" if self._session is not None else f"torch on {device}"
        log.info("reader %s (%s) loaded, %s", self.name, self.kind, backend)

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[Reading]:
        return self.read_batch([ReadRequest(question, sentences, contexts)])[0]

    def read_batch(self, requests: Sequence[ReadRequest]) -> list[list[Reading]]:
        """The readings of several requests (several questions) at once: their pairs are
        tokenized together, then run in the forward passes ``_passes`` picks."""
        if self.kind == "cross-encoder":
            return self._cross_encode(requests)
        pairs: list[tuple[str, str, int]] = []  # (question, input text, sentence length)
        for r in requests:
            texts = list(r.sentences)
            if self.context and r.contexts is not None:
                texts = [
                    with_context(self.tokenizer, s, c)
                    for s, c in zip(r.sentences, r.contexts, strict=True)
                ]
            pairs += [(r.question, t, len(s)) for t, s in zip(texts, r.sentences, strict=True)]
        if not pairs:
            return [[] for _ in requests]
        enc = self.tokenizer(
            [q for q, _, _ in pairs],
            [t for _, t, _ in pairs],
            truncation="only_second",
            max_length=self.max_length,
            return_offsets_mapping=True,
        )
        spans, at = [], 0  # each request's pairs
        for r in requests:
            spans.append(range(at, at + len(r.sentences)))
            at += len(r.sentences)
        readings: list[Reading] = [Reading(0.0)] * len(pairs)
        for idx in self._passes(spans, pairs, [len(ids) for ids in enc["input_ids"]]):
            for k, reading in zip(idx, self._batch(enc, idx, pairs), strict=True):
                readings[k] = reading
        return [readings[s.start : s.stop] for s in spans]

    def _passes(
        self, spans: list[range], pairs: list[tuple[str, str, int]], lengths: list[int]
    ) -> list[list[int]]:
        """Which pairs run together, as lists of indices.

        The int8 model quantizes its activations with one scale per forward pass, so what else
        is in a batch moves a score by up to 0.1: each request runs on its own, shortest text
        first in batches of ``batch_size``, exactly as when the threshold was calibrated, and
        its answer never depends on who else is asking. (Length buckets would save 35-45% of
        its time but cost 0.013 citation support on the calibration half and 0.025 on the test
        half; so did batches of one: README, "Batching and threads".) Float models pad
        exactly: all requests share length buckets (``length_buckets``).
        """
        if not self.quantized:
            return length_buckets(lengths, self.batch_size)
        passes = []
        for span in spans:
            order = sorted(span, key=lambda k: len(pairs[k][1]))
            passes += [
                order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)
            ]
        return passes

    def _logits(
        self, feed: dict[str, npt.NDArray[np.int64]]
    ) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(score probabilities or None, start logits, end logits) for one padded batch."""
        if self._session is not None:
            wanted = {i.name for i in self._session.get_inputs()}
            score, start, end = self._session.run(
                ["score", "start", "end"], {k: v for k, v in feed.items() if k in wanted}
            )
            return sigmoid(score), start, end
        import torch

        inputs = {k: torch.from_numpy(v).to(self.device) for k, v in feed.items()}
        with torch.inference_mode():
            if self.kind == "own":
                score, start, end = self.model(
                    inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"]
                )
                return sigmoid(score.float().cpu().numpy()), _np(start), _np(end)
            res = self.model(**inputs)  # a QA model
        return None, _np(res.start_logits), _np(res.end_logits)

    def _cross_encode(self, requests: Sequence[ReadRequest]) -> list[list[Reading]]:
        """A cross-encoder's readings: ``CrossEncoder.predict`` batches all pairs itself
        (longest first), truncating the sentence as ours are. Its logits become a probability
        here, as the gate's threshold needs, whatever activation the checkpoint names
        (ms-marco's is the identity): the sigmoid of one logit, or the softmax's second of two
        classes."""
        import torch

        pairs = [(r.question, s) for r in requests for s in r.sentences]
        if not pairs:
            return [[] for _ in requests]
        text = {"truncation": "only_second", "max_length": self.max_length}
        with self._lock:
            logits = self.model.predict(
                pairs,
                batch_size=self.batch_size,
                activation_fn=torch.nn.Identity(),
                convert_to_tensor=True,
                show_progress_bar=False,
                processing_kwargs={"text": text},
            ).float()
        if logits.ndim == 1:  # predict squeezes a single label
            probs = sigmoid(logits.cpu().numpy())
        else:  # two classes: the second is "relevant"
            probs = torch.softmax(logits, -1)[:, -1].cpu().numpy().astype(np.float64)
        scores = iter(probs.tolist())
        return [[Reading(next(scores)) for _ in r.sentences] for r in requests]

    def _batch(self, enc: Any, idx: list[int], pairs: list[tuple[str, str, int]]) -> list[Reading]:
        """Read the pairs ``idx`` of ``enc`` as one padded batch; a short answer lies within
        the sentence (its first ``length`` characters of the second segment)."""
        types = [enc["token_type_ids"][k] for k in idx] if "token_type_ids" in enc else None
        feed = pad_batch(
            [enc["input_ids"][k] for k in idx], types, pad_id=self.tokenizer.pad_token_id or 0
        )
        with self._lock:
            probs, start, end = self._logits(feed)
        readings = []
        for row, k in enumerate(idx):
            found = None
            if start.shape[1]:
                offsets, length = enc["offset_mapping"][k], pairs[k][2]
                allowed = [
                    sid == 1 and 0 < offsets[t][1] <= length
                    for t, sid in enumerate(enc.sequence_ids(k))
                ]
                found = best_span(start[row].tolist(), end[row].tolist(), allowed, MAX_SPAN_TOKENS)
            span = None if found is None else (enc["offset_mapping"][k][found[0]][0],
                                               enc["offset_mapping"][k][found[1]][1])  # fmt: skip
            if probs is None:  # a QA model: the best span against the no-answer logit
                gap = found[2] - float(start[row][0] + end[row][0]) if found else -10.0
                score = float(sigmoid(np.array(gap)))
            else:
                score = float(probs[row])
            readings.append(Reading(score, span))
        return readings


def pad_batch(
    input_ids: Sequence[Sequence[int]],
    token_type_ids: Sequence[Sequence[int]] | None = None,
    *,
    pad_id: int = 0,
) -> dict[str, npt.NDArray[np.int64]]:
    """One padded batch of token ids, as the reader's models take it.

    Args:
        input_ids: Each input's token ids (any lengths; at least one input).
        token_type_ids: Each input's segment ids, or None for a model without them.
        pad_id: The tokenizer's padding id.

    Returns:
        int64 arrays of shape (inputs, longest input): ``input_ids`` (padded with ``pad_id``),
        ``attention_mask`` (1 on the real tokens) and, when given, ``token_type_ids``
        (padded with 0).
    """
    width = max(len(ids) for ids in input_ids)
    names = ["input_ids", "attention_mask"] + ([] if token_type_ids is None else ["token_type_ids"])
    feed = {name: np.zeros((len(input_ids), width), dtype=np.int64) for name in names}
    feed["input_ids"].fill(pad_id)
    for row, ids in enumerate(input_ids):
        feed["input_ids"][row, : len(ids)] = ids
        feed["attention_mask"][row, : len(ids)] = 1
        if token_type_ids is not None:
            feed["token_type_ids"][row, : len(ids)] = token_type_ids[row]
    return feed


def sigmoid(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The logistic function, without overflow for any logit (``math.exp`` raises below -709)."""
    return np.asarray(0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64))))


def _np(t: torch.Tensor) -> npt.NDArray[np.float32]:
    return np.asarray(t.float().cpu().numpy(), dtype=np.float32)


#: A bucket of the reader's inputs closes when the next input is this much longer than its
#: first: padding to the longest costs less than another forward pass up to about 1.3x
#: (``scripts/bench/reader.py``: 40% of a request's padded tokens are padding).
BUCKET_RATIO = 1.3
#: Fewer inputs than this never make a bucket of their own (a forward pass has a fixed cost).
BUCKET_MIN = 4


def length_buckets(lengths: Sequence[int], max_batch: int) -> list[list[int]]:
    """Indices of ``lengths`` in batches of similar length, shortest first: each batch pads
    only to its own longest input, and none holds more than ``max_batch``."""
    order = sorted(range(len(lengths)), key=lambda k: lengths[k])
    buckets: list[list[int]] = []
    for k in order:
        cur = buckets[-1] if buckets else None
        if (
            cur is None
            or len(cur) >= max_batch
            or (len(cur) >= BUCKET_MIN and lengths[k] > BUCKET_RATIO * lengths[cur[0]])
        ):
            buckets.append([k])
        else:
            cur.append(k)
    return buckets


def resolve_reader_model(settings: Settings) -> str:
    """A local folder (as given, or under ``models_dir``) or else a Hugging Face id."""
    return resolve_model(
        settings.reader_model,
        settings.models_dir,
        default=DEFAULT_READER_MODEL,
        missing=f"The reader is missing from {settings.models_dir}/{settings.reader_model}: it "
        "ships with the project (git checkout), or train one with python -m scripts.train.reader; "
        "QA_READER=none runs without it.",
    )


def load_reader(settings: Settings) -> Reader | None:
    """The configured reader, or None when ``QA_READER=none``."""
    if settings.reader == "none":
        return None
    from .embedding import resolve_device

    return TransformersReader(
        resolve_reader_model(settings),
        device=resolve_device(settings.device),
        threads=settings.torch_threads,
    )
