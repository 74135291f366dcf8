"""Loading the configured models: the embedder, the generator and the reader (seconds).

Called once per process from the app lifespan or the CLI; tests share one ``Models`` across
services.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import Settings
from ..observability import MODEL_LATENCY
from .batching import BatchedEmbedder, BatchedReader
from .embedding import Embedder, SentenceTransformerEmbedder, Vectors
from .generation import (
    Generator,
    LimitedGenerator,
    TransformersGenerator,
    resolve_generator_model,
)
from .reader import Reader, TransformersReader, load_reader


class InstrumentedEmbedder:
    """An Embedder that records how long each batch takes."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.max_tokens = inner.max_tokens

    def embed(self, texts: Sequence[str]) -> Vectors:
        with MODEL_LATENCY.labels("embed").time():
            return self.inner.embed(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)


@dataclass(slots=True)
class Models:
    """The heavy, shareable parts: loaded once per process (tests share them across services)."""

    embedder: Embedder
    generator: Generator | None = None
    reader: Reader | None = None


def load_models(settings: Settings) -> Models:
    """Load the configured models (seconds); called from the app lifespan or the CLI."""
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    import faiss

    # One query at a time is answered fastest single-threaded (OpenMP spin-waits collapse
    # on a shared 2-core machine: 24 ms vs 0.7 ms at 10k chunks, measured).
    faiss.omp_set_num_threads(settings.faiss_threads or os.cpu_count() or 1)
    embedder: Embedder
    if settings.embedding_backend == "onnx":
        from .onnx_embedding import load_onnx_embedder

        embedder = load_onnx_embedder(settings)
    else:
        embedder = SentenceTransformerEmbedder(
            settings.embedding_model,
            device=settings.device,
            batch_size=settings.embedding_batch_size,
        )
    embedder = InstrumentedEmbedder(embedder)
    reader = load_reader(settings)
    if settings.batching:
        lock = threading.Lock()  # one forward pass at a time, whichever model
        embedder = BatchedEmbedder(
            embedder,
            compute_lock=lock,
            max_wait_ms=settings.batch_wait_ms,
        )
        if isinstance(reader, TransformersReader):
            reader = BatchedReader(
                reader,
                compute_lock=lock,
                max_wait_ms=settings.batch_wait_ms,
                max_pairs=settings.batch_max_sentences,
            )
    return Models(embedder=embedder, generator=load_generator(settings), reader=reader)


def load_generator(settings: Settings) -> Generator | None:
    """The configured generator, or None when ``QA_GENERATOR=none``."""
    if settings.generator == "none":
        return None
    inner: Generator
    if settings.generator == "llamacpp":
        from .llamacpp import LlamaCppGenerator

        inner = LlamaCppGenerator(settings.generator_model, settings=settings)
    elif settings.generator == "openai":
        from .openai_generator import OpenAIGenerator

        inner = OpenAIGenerator(settings)
    else:
        inner = TransformersGenerator(
            resolve_generator_model(settings),
            device=settings.device,
            dtype=settings.generator_dtype,
            name=settings.generator_model,
        )
    return LimitedGenerator(
        inner,
        workers=settings.generation_workers,
        queue=settings.generation_queue,
        timeout_s=settings.generation_timeout_s,
        max_s=settings.generation_max_s,
    )
