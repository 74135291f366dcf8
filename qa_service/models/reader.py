"""The reader: a cross-encoder that scores how well a sentence answers a question.

Retrieval finds passages about the question; the reader decides which sentence *answers* it and
whether any does. It reads ``[CLS] question [SEP] sentence [SEP]`` and returns

* ``score``: the probability that the sentence answers the question (the abstention gate is a
  threshold on it, calibrated by ``scripts/eval_qa.py``), and
* ``span``: the shortest answer inside the sentence (character offsets into the sentence), when
  the model has a span head and finds one.

Three kinds of model load behind the same ``Reader`` interface:

* our own (``models/reader/``, trained by ``scripts/train_reader.py``): a BERT encoder with a
  score head and a span head, shipped as int8 ONNX (run on onnxruntime) beside a
  ``reader.json``; training checkpoints are fp16 safetensors (run on torch);
* any Hugging Face sequence-classification cross-encoder (one logit = relevance), e.g.
  ``cross-encoder/ms-marco-MiniLM-L6-v2``: scores only;
* any extractive question-answering model (SQuAD 2.0 style, start/end logits): the span with
  the best start+end logit against the no-answer logit gives both score and span.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..config import DEFAULT_READER_MODEL
from ..errors import ModelError
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


@runtime_checkable
class Reader(Protocol):
    """Scores sentences as answers to a question (one batch per question)."""

    name: str
    #: The calibrated abstention threshold shipped with the model (None: the caller decides).
    threshold: float | None

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[str] | None = None
    ) -> list[Reading]:
        """One ``Reading`` per sentence, in order. ``contexts`` (one per sentence, from
        ``reader_context``) are read by models trained with them and ignored by others."""
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


def build_net(config: Any) -> Any:
    """Our reader network: the encoder plus a score head (CLS) and a span head (per token).

    Defined in a function so that importing this module does not import torch.
    """
    import torch
    from transformers import BertModel

    class ReaderNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = BertModel(config, add_pooling_layer=False)
            self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
            self.score = torch.nn.Linear(config.hidden_size, 1)
            self.span = torch.nn.Linear(config.hidden_size, 2)

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
            ).last_hidden_state
            score = self.score(self.dropout(hidden[:, 0])).squeeze(-1)
            start, end = self.span(hidden).unbind(-1)
            return score, start, end

    return ReaderNet()


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
    shipped model, on ONNX Runtime (int8: 23 MB, about 2.5x faster than torch on a CPU)."""

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
                    self._session = _onnx_session(path / ONNX_FILE, threads)
                else:
                    from safetensors.torch import load_file

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
                    from transformers import AutoModelForSequenceClassification

                    self.kind = "cross-encoder"
                    self.model = AutoModelForSequenceClassification.from_pretrained(model)
        except Exception as e:  # any failure to load is a configuration error, said clearly
            raise ModelError(f"Could not load reader model {model!r}: {e}") from e
        if self._session is None:
            self.model.to(device).eval()
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
        texts = list(sentences)
        if self.context and contexts is not None:
            texts = [
                with_context(self.tokenizer, s, c) for s, c in zip(sentences, contexts, strict=True)
            ]
        # shortest first: each batch pads only to its own longest input
        order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
        out: dict[int, Reading] = {}
        for i in range(0, len(order), self.batch_size):
            idx = order[i : i + self.batch_size]
            batch = [(texts[k], len(sentences[k])) for k in idx]
            out.update(zip(idx, self._batch(question, batch), strict=True))
        return [out[k] for k in range(len(texts))]

    def _logits(self, enc: Any) -> tuple[list[float], Any, Any]:
        """(score logits or probabilities, start logits, end logits) for one batch."""
        import torch

        if self._session is not None:
            feed = {i.name: enc[i.name].numpy() for i in self._session.get_inputs()}
            score, start, end = self._session.run(["score", "start", "end"], feed)
            return [1.0 / (1.0 + math.exp(-float(x))) for x in score], start, end
        inputs = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            if self.kind == "own":
                ids = inputs["input_ids"]
                score, start, end = self.model(
                    ids, inputs["attention_mask"], inputs.get("token_type_ids", ids * 0)
                )
                return torch.sigmoid(score).tolist(), start.float().cpu(), end.float().cpu()
            if self.kind == "qa":
                res = self.model(**inputs)
                return [], res.start_logits.float().cpu(), res.end_logits.float().cpu()
            logits = self.model(**inputs).logits.float()
            if logits.shape[-1] == 1:
                return torch.sigmoid(logits[:, 0]).tolist(), None, None
            # two classes: the second is "relevant"
            return torch.softmax(logits, -1)[:, -1].tolist(), None, None

    def _batch(self, question: str, batch: list[tuple[str, int]]) -> list[Reading]:
        """Read ``(input, sentence length)`` pairs: the short answer lies within the sentence."""
        if not batch:
            return []
        enc = self.tokenizer(
            [question] * len(batch),
            [text for text, _ in batch],
            truncation="only_second",
            max_length=self.max_length,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").tolist()
        with self._lock:
            probs, start, end = self._logits(enc)
        if start is None:
            return [Reading(float(p)) for p in probs]
        starts, ends = start.tolist(), end.tolist()
        readings = []
        for k, (_, length) in enumerate(batch):
            seq_ids = enc.sequence_ids(k)
            allowed = [sid == 1 and 0 < offsets[k][t][1] <= length for t, sid in enumerate(seq_ids)]
            found = best_span(starts[k], ends[k], allowed, MAX_SPAN_TOKENS)
            span = None
            if found is not None:
                i, j, logit = found
                span = (offsets[k][i][0], offsets[k][j][1])
            if self.kind == "qa":
                null = starts[k][0] + ends[k][0]
                gap = (logit - null) if found is not None else -10.0
                probs.append(1.0 / (1.0 + math.exp(-gap)))
            readings.append(Reading(float(probs[k]), span))
        return readings


def _onnx_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def export_onnx(net: Any, tokenizer: Any, folder: Path) -> None:
    """Write our reader ``net`` to ``folder/model.onnx``, int8 (dynamic, per channel, MatMul and
    Gather: 23 MB; scores within 0.01 of fp32 torch)."""
    import tempfile
    import warnings

    import torch
    from onnxruntime.quantization import quantize_dynamic

    sample = tokenizer(
        ["Who leads it?", "What happened?"],
        ["The group is led by its founder.", "Rebels took the city."],
        padding=True,
        return_tensors="pt",
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes: dict[str, dict[int, str]] = {n: {0: "batch", 1: "sequence"} for n in names}
    axes |= {"score": {0: "batch"}, "start": {0: "batch", 1: "sequence"}}
    axes["end"] = axes["start"]
    net = net.float().eval()
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            net,
            tuple(sample[n] for n in names),
            str(fp32),
            input_names=names,
            output_names=["score", "start", "end"],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
        root = logging.getLogger()
        level = root.level
        root.setLevel(max(level, logging.ERROR))  # it logs every tensor at INFO
        try:
            quantize_dynamic(
                fp32,
                folder / ONNX_FILE,
                per_channel=True,
                op_types_to_quantize=["MatMul", "Gather"],
            )
        finally:
            root.setLevel(level)


def resolve_reader_model(settings: Settings) -> str:
    """A local folder (as given, or under ``models_dir``) or else a Hugging Face id."""
    return resolve_model(
        settings.reader_model,
        settings.models_dir,
        default=DEFAULT_READER_MODEL,
        missing=f"The reader is missing from {settings.models_dir}/{settings.reader_model}: it "
        "ships with the project (git checkout), or train one with scripts/train_reader.py; "
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
