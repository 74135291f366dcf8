"""Shared fixtures: the real small models, loaded once per test session."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qa_service.api import create_app
from qa_service.config import Settings
from qa_service.models.loading import Models, load_models
from tests.support.live_server import live_server, wait_ready

__all__ = ["live_server", "wait_ready"]

ROOT = Path(__file__).resolve().parents[1]
SEED_ARTICLE = ROOT / "examples" / "articles" / "syria-hama-counteroffensive.txt"
SHARED_EVAL = ROOT.parent / "shared" / "data" / "eval"


@pytest.fixture(scope="session")
def seed_text() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def models() -> Models:
    """The real default models (embedder; generator where prepared)."""
    return load_models(Settings(models_dir=ROOT / "models"))


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, models_dir=ROOT / "models", **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings, models: Models) -> Iterator[TestClient]:
    with TestClient(create_app(settings, models=models)) as c:
        yield c


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for fast unit tests of non-model logic."""

    name = "fake-hash-embedder"
    dim = 64
    max_tokens = 256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[i, h % self.dim] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if not norm:
                out[i, 0] = 1.0
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]


class ScriptedGenerator:
    """A generator that streams a fixed reply word by word (tests the verification logic)."""

    name = "scripted"
    is_chat = False

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        raise NotImplementedError

    def generate(self, prompts, *, max_new_tokens, stop=()):
        return ["".join(self.stream(p, max_new_tokens=max_new_tokens, stop=stop)) for p in prompts]

    def stream(self, prompt, *, max_new_tokens, stop=()):
        self.prompts.append(prompt)
        yield from re.findall(r"\S+\s*|\s+", self.reply)


@pytest.fixture
def fake_models() -> Models:
    return Models(embedder=FakeEmbedder())
