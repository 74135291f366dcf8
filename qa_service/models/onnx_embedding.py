"""Optional embedding backend on ONNX Runtime (``QA_EMBEDDING_BACKEND=onnx``), int8 by default.

The sentence-transformers model is exported once (``qa-service prepare-models --onnx``) into a
self-contained folder (``models/minilm-onnx``: ``model.onnx`` fp32, ``model-int8.onnx`` with
dynamically quantized MatMul weights, the tokenizer files and ``onnx_embedding.json``). At run
time only ``onnxruntime`` and ``tokenizers`` are needed: tokenize, run the encoder, mean-pool over
the attention mask and L2-normalise, exactly as the torch backend's Pooling + Normalize modules do.

Vectors of this backend are close to the torch ones (fp32: identical to ~1e-6; int8: cosine about
0.99) but not equal, so the embedder's ``name`` differs and the service re-embeds everything when
the backend changes. ``onnxruntime`` and ``onnx`` are imported lazily: ``pip install
'qa-service[onnx]'``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from ..config import DEFAULT_EMBEDDING_MODEL, Settings
from ..errors import ModelError
from .embedding import Vectors, resolve_embedding_model
from .onnx import OPSET, export_torch, make_session, quantize_int8

log = logging.getLogger(__name__)

#: Folder under ``models_dir`` that ``prepare-models --onnx`` writes for the default model.
DEFAULT_ONNX_DIR = "minilm-onnx"
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
META_FILE = "onnx_embedding.json"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
#: Sentences checked after export: the fp32 graph must reproduce the torch vectors.
_CHECK_TEXTS = (
    "The museum will reopen only if the roof is repaired first, the mayor said.",
    "Rain.",
    "Insurgents retreated twelve miles north of Hama after a week of heavy fighting, "
    "the monitoring group said on Sunday.",
)


def _import(name: str) -> ModuleType:
    """Import an optional dependency, with an install hint when it is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ModelError(
            f"The ONNX embedding backend needs the '{name.split('.')[0]}' package: "
            "pip install 'qa-service[onnx]'"
        ) from e


def onnx_model_dir(models_dir: Path, model: str = DEFAULT_EMBEDDING_MODEL) -> Path:
    """Where the ONNX export of ``model`` lives: ``minilm-onnx`` for the default model."""
    if resolve_embedding_model(model) == resolve_embedding_model(DEFAULT_EMBEDDING_MODEL):
        return models_dir / DEFAULT_ONNX_DIR
    slug = re.sub(r"[^A-Za-z0-9._]+", "--", model).strip("-.") or "model"
    return models_dir / f"{slug}-onnx"


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class OnnxEmbedder:
    """Embeds with an exported model on ONNX Runtime (CPU) and the ``tokenizers`` package.

    Batches like sentence-transformers (longest first, padded to the longest of the batch). With
    the int8 model the activations are quantized per run, over the whole batch, so a text's
    vector depends slightly on the texts batched with it (cosine about 0.994 to the same text
    embedded alone); the fp32 model gives the same vector in any batch.
    """

    def __init__(
        self,
        model_dir: Path | str,
        *,
        quantized: bool = True,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        ort = _import("onnxruntime")
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            raise ModelError(
                f"No ONNX embedding model in {folder}: run `qa-service prepare-models --onnx` "
                "(or `make models-onnx`)."
            )
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
        onnx_file = folder / (INT8_FILE if quantized else FP32_FILE)
        if not onnx_file.is_file():
            raise ModelError(
                f"{onnx_file} is missing: run `qa-service prepare-models --onnx --force` "
                "(or `make models-onnx`)."
            )
        #: The model the folder was exported from (e.g. sentence-transformers/all-MiniLM-L6-v2).
        self.model: str = meta["model"]
        self.quantized = quantized
        self.name = f"{self.model}@onnx-{'int8' if quantized else 'fp32'}"
        self.dim = int(meta["dim"])
        self.max_seq_length = int(meta["max_seq_length"])
        # As SentenceTransformerEmbedder: room for [CLS] and [SEP].
        self.max_tokens = self.max_seq_length - 2
        self.batch_size = batch_size

        # One tokenizer pads and truncates like sentence-transformers; the other counts tokens
        # without truncation (chunk sizing must see the real length).
        tokenizer_file = str(folder / "tokenizer.json")
        self._tokenizer = Tokenizer.from_file(tokenizer_file)
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = int(meta.get("pad_token_id", 0))
        pad_token = str(meta.get("pad_token", "[PAD]"))
        self._tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)  # to the longest
        self._counter = Tokenizer.from_file(tokenizer_file)
        self._counter.no_truncation()
        self._counter.no_padding()

        threads = threads or _cpu_count()
        try:
            self._session = make_session(onnx_file, threads)
        except Exception as e:
            raise ModelError(f"Could not load ONNX embedding model {onnx_file}: {e}") from e
        self._input_names = [i.name for i in self._session.get_inputs()]
        log.info(
            "embedding model %s loaded on onnxruntime %s (%s, dim %d, %d threads)",
            self.model,
            ort.__version__,
            onnx_file.name,
            self.dim,
            threads,
        )

    def _embed_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        feed = {name: arrays[name] for name in self._input_names}
        (hidden,) = self._session.run(["last_hidden_state"], feed)
        return mean_pool_normalize(np.asarray(hidden, dtype=np.float32), arrays["attention_mask"])

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = list(texts)
        # Longest first, as sentence-transformers does: batches pad to similar lengths.
        order = np.argsort([-len(t) for t in items], kind="stable")
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self._embed_batch([items[i] for i in idx])
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]


def mean_pool_normalize(
    hidden: npt.NDArray[np.float32], attention_mask: npt.NDArray[np.int64]
) -> Vectors:
    """Mean over the unmasked tokens, then L2-normalise (as Pooling + Normalize do)."""
    mask = attention_mask.astype(np.float32)[:, :, None]
    summed = (hidden * mask).sum(axis=1)
    pooled = summed / np.clip(mask.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.ascontiguousarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def export_embedding_onnx(
    model_dir_or_name: str | Path,
    out_dir: Path,
    quantize: bool = True,
    *,
    reduce_range: bool = True,
    model_name: str | None = None,
) -> Path:
    """Export a sentence-transformers model (mean pooling) to ONNX in ``out_dir``; returns it.

    Writes ``model.onnx`` (fp32), with ``quantize`` also ``model-int8.onnx`` (int8 dynamic,
    per-channel, MatMul only: the defaults lose too much accuracy), the tokenizer files and
    ``onnx_embedding.json``. ``reduce_range`` keeps 7-bit weights, which ONNX Runtime advises for
    CPUs without VNNI (AVX2 only: its u8 x s8 kernels can saturate); on such a CPU it raised the
    worst cosine to torch from 0.979 to 0.987 and kept SQuAD recall@5 (0.860 -> 0.870, as
    torch). The folder is built under a temporary name and renamed, so an interrupted export
    never leaves a half model. ``model_name`` (default: the given name) becomes the embedder's
    name. Takes about half a minute on 2 cores.
    """
    _import("onnx")  # torch.onnx.export needs it
    import torch
    from sentence_transformers import SentenceTransformer
    from torch.jit._trace import TracerWarning

    model = str(model_dir_or_name)
    path = resolve_embedding_model(model)
    try:
        st: Any = SentenceTransformer(path, device="cpu")
    except Exception as e:
        raise ModelError(f"Could not load embedding model {model!r}: {e}") from e
    # The pooling and normalisation are redone in numpy: only Transformer, mean Pooling and an
    # optional Normalize can be reproduced (no Dense layers, no CLS pooling).
    modules = [type(m).__name__ for m in st]
    pooling = st[1].get_config_dict() if modules[1:2] == ["Pooling"] else {}
    mean = pooling.get("pooling_mode") == "mean" or pooling.get("pooling_mode_mean_tokens")
    if modules[:2] != ["Transformer", "Pooling"] or modules[2:] not in ([], ["Normalize"]):
        raise ModelError(f"Cannot export {model!r} to ONNX: unsupported modules {modules}")
    if not mean:
        raise ModelError(f"Cannot export {model!r} to ONNX: pooling is not mean ({pooling})")
    encoder = st[0].auto_model.eval()
    max_seq_length = int(st.max_seq_length or 512)
    dim = int(st.get_embedding_dimension() or 0)

    class KeywordEncoder(torch.nn.Module):
        """Calls the encoder with keyword arguments (positional ones break in transformers 5)."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            hidden: torch.Tensor = out.last_hidden_state
            return hidden

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.tmp-", dir=out_dir.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the renamed folder should not be
    try:
        # Padded sample input, so the traced graph keeps the attention-mask path.
        sample = st.tokenizer(
            list(_CHECK_TEXTS[:2]), padding=True, truncation=True, return_tensors="pt"
        )
        args = tuple(sample[name] for name in _INPUTS)
        axes = {"batch": 0, "sequence": 1}
        dynamic_axes = {name: {i: n for n, i in axes.items()} for name in _INPUTS}
        dynamic_axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
        log.info("exporting %s to ONNX", model)
        with warnings.catch_warnings():
            # Shape checks traced as constants, and aten::index: both fine for this encoder, and
            # _check_export below compares the result with torch on a padded batch anyway.
            warnings.simplefilter("ignore", TracerWarning)
            warnings.filterwarnings("ignore", message="Exporting aten::index")
            export_torch(
                KeywordEncoder(encoder),
                args,
                tmp / FP32_FILE,
                input_names=_INPUTS,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic_axes,
            )
        if quantize:
            log.info("quantizing to int8 (dynamic, per channel, MatMul)")
            quantize_int8(
                tmp / FP32_FILE, tmp / INT8_FILE, op_types=["MatMul"], reduce_range=reduce_range
            )
        _save_tokenizer(st, Path(path), tmp)
        tokenizer = st.tokenizer
        meta = {
            "model": model_name or model,
            "dim": dim,
            "max_seq_length": max_seq_length,
            "pooling": "mean",
            "normalize": True,
            "pad_token_id": int(tokenizer.pad_token_id or 0),
            "pad_token": str(tokenizer.pad_token or "[PAD]"),
            "opset": OPSET,
            "files": {"fp32": FP32_FILE} | ({"int8": INT8_FILE} if quantize else {}),
            "quantization": (
                {
                    "mode": "dynamic",
                    "weights": "int8",
                    "per_channel": True,
                    "reduce_range": reduce_range,
                    "op_types": ["MatMul"],
                }
                if quantize
                else None
            ),
            "exported_with": {
                p: _package_version(p)
                for p in ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime")
            },
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        _check_export(st, tmp)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.replace(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("ONNX embedding model written to %s", out_dir)
    return out_dir


def _save_tokenizer(st: Any, source: Path, target: Path) -> None:
    """Copy the model's own tokenizer files; save them from the loaded tokenizer otherwise."""
    if (source / "tokenizer.json").is_file():
        for name in _TOKENIZER_FILES:
            if (source / name).is_file():
                shutil.copy2(source / name, target / name)
        return
    st.tokenizer.save_pretrained(str(target))
    if not (target / "tokenizer.json").is_file():
        raise ModelError("The model has no fast tokenizer (tokenizer.json): cannot export it")


def _check_export(st: Any, folder: Path) -> None:
    """The fp32 graph must reproduce the torch vectors (catches a trace gone wrong)."""
    expected = st.encode(
        list(_CHECK_TEXTS),
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    got = OnnxEmbedder(folder, quantized=False).embed(list(_CHECK_TEXTS))
    cosine = float(np.min(np.sum(got * np.asarray(expected, dtype=np.float32), axis=1)))
    if cosine < 0.999:
        raise ModelError(f"The ONNX export does not match the torch model (cosine {cosine:.4f})")


def load_onnx_embedder(settings: Settings) -> OnnxEmbedder:
    """The embedder for ``QA_EMBEDDING_BACKEND=onnx``: the export of the configured model."""
    folder = onnx_model_dir(settings.models_dir, settings.embedding_model)
    if not (folder / META_FILE).is_file():
        raise ModelError(
            f"QA_EMBEDDING_BACKEND=onnx, but there is no ONNX export of "
            f"{settings.embedding_model!r} in {folder}: run `qa-service prepare-models --onnx` "
            "(or `make models-onnx`) first."
        )
    embedder = OnnxEmbedder(
        folder, quantized=settings.onnx_quantized, batch_size=settings.embedding_batch_size
    )
    if embedder.model != settings.embedding_model:
        raise ModelError(
            f"{folder} was exported from {embedder.model!r}, not {settings.embedding_model!r}: "
            "run `qa-service prepare-models --onnx --force`."
        )
    return embedder
