"""Fakes shared by several unit test modules (the plain ones live in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tests.conftest import FakeEmbedder


class RecordingEmbedder(FakeEmbedder):
    """``FakeEmbedder`` that keeps every batch it is asked to embed, and fails on demand
    (``fail``: the exception the next calls raise, as a model server that went away would)."""

    def __init__(self, name: str = FakeEmbedder.name) -> None:
        self.name = name
        self.batches: list[list[str]] = []
        self.fail: Exception | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail is not None:
            raise self.fail
        self.batches.append(list(texts))
        return super().embed(texts)

    @property
    def embedded(self) -> list[str]:
        """Every text embedded so far, in order."""
        return [t for batch in self.batches for t in batch]
