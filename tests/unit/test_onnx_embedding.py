"""The ONNX Runtime embedding backend against the torch one (skipped without the onnx extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa_service.config import DEFAULT_EMBEDDING_MODEL
from qa_service.errors import ModelError
from qa_service.models.batching import BatchedEmbedder
from qa_service.models.loading import InstrumentedEmbedder, Models, load_models
from qa_service.models.onnx_embedding import (
    DEFAULT_ONNX_DIR,
    INT8_FILE,
    OnnxEmbedder,
    export_embedding_onnx,
)
from qa_service.schemas import DocumentIn
from qa_service.service import QAService
from qa_service.storage.types import SearchMode
from tests.conftest import make_settings

# qa_service.models.onnx_embedding imports without them; exporting and running need both.
pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

SENTENCES = [
    "The museum will reopen only if the roof is repaired first, the mayor said.",
    "Insurgents retreated twelve miles north of Hama after a week of heavy fighting.",
    "Turkey has backed the opposition and wants Kurdish militias kept away from its border.",
    "Prime numbers greater than one have no positive divisors other than one and themselves.",
    "Rain.",
    "The Rhine flows from the Swiss Alps to the North Sea, through Germany and the Netherlands.",
    "Wie geht's? Ça va très bien, merci — 東京 is big.",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding a fresh export of the default model (done once, ~15 s)."""
    root = tmp_path_factory.mktemp("models")
    export_embedding_onnx(DEFAULT_EMBEDDING_MODEL, root / DEFAULT_ONNX_DIR)
    return root


@pytest.fixture(scope="module")
def onnx(models_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(models_dir / DEFAULT_ONNX_DIR, quantized=True, batch_size=4)


def test_export_is_self_contained(models_dir: Path) -> None:
    names = {p.name for p in (models_dir / DEFAULT_ONNX_DIR).iterdir()}
    assert {"model.onnx", INT8_FILE, "tokenizer.json", "onnx_embedding.json"} <= names
    assert not [p for p in models_dir.iterdir() if ".tmp" in p.name]


def test_vectors_are_normalised_float32_in_input_order(
    models_dir: Path, onnx: OnnxEmbedder
) -> None:
    vecs = onnx.embed(SENTENCES)  # batch_size 4: two batches, sorted by length inside
    assert vecs.shape == (len(SENTENCES), 384) and vecs.dtype == np.float32
    assert vecs.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert onnx.embed([]).shape == (0, 384)
    # int8: activations are quantized per run, so a text's vector depends a little on the texts
    # batched with it; each vector is still closest to the same text embedded alone.
    alone = np.vstack([onnx.embed([s]) for s in SENTENCES])
    cosine = vecs @ alone.T
    assert (cosine.argmax(axis=1) == np.arange(len(SENTENCES))).all()
    assert np.diag(cosine).min() >= 0.98
    # fp32: padding and batching change nothing.
    fp32 = OnnxEmbedder(models_dir / DEFAULT_ONNX_DIR, quantized=False, batch_size=4)
    np.testing.assert_allclose(
        fp32.embed(SENTENCES), np.vstack([fp32.embed([s]) for s in SENTENCES]), atol=1e-4
    )


@pytest.mark.parametrize(("quantized", "min_cosine"), [(True, 0.98), (False, 0.9999)])
def test_close_to_the_torch_vectors(
    models_dir: Path, models: Models, seed_text: str, quantized: bool, min_cosine: float
) -> None:
    embedder = OnnxEmbedder(models_dir / DEFAULT_ONNX_DIR, quantized=quantized)
    texts = [*SENTENCES, seed_text]  # the article is longer than 256 tokens: truncated alike
    cosine = np.sum(embedder.embed(texts) * models.embedder.embed(texts), axis=1)
    assert cosine.min() >= min_cosine, cosine


def test_same_identity_apart_from_the_name(onnx: OnnxEmbedder, models: Models) -> None:
    torch_embedder = models.embedder
    assert (onnx.dim, onnx.max_tokens) == (torch_embedder.dim, torch_embedder.max_tokens)
    assert onnx.name != torch_embedder.name and onnx.name.endswith("@onnx-int8")


def test_token_counts_match_the_torch_tokenizer(
    onnx: OnnxEmbedder, models: Models, seed_text: str
) -> None:
    texts = [*SENTENCES, seed_text, ""]  # the article: far over 256 tokens, never truncated
    counts = onnx.count_tokens(texts)
    assert counts == models.embedder.count_tokens(texts)
    assert counts[-2] > 256
    assert onnx.count_tokens([]) == []


def test_service_ingests_and_searches_with_onnx(
    tmp_path: Path, onnx: OnnxEmbedder, models: Models, seed_text: str
) -> None:
    settings = make_settings(tmp_path / "data")
    svc = QAService(settings, Models(embedder=onnx))
    [res] = svc.ingest([DocumentIn(id="syria", text=seed_text, title="Syria's counteroffensive")])
    assert res.status == "created" and res.chunks >= 2
    modes: tuple[SearchMode, ...] = ("dense", "hybrid")
    for mode in modes:
        hits = svc.search("Assad precondition normalization Turkey", 3, mode=mode)
        assert hits and hits[0].doc_id == "syria"
        assert "Turkish military withdrawal from northern Syria" in hits[0].text
    svc.close()
    # Switching back to torch re-embeds everything: the two backends' vectors never mix.
    again = QAService(settings, models)
    assert again.index.status()["vectors"] == res.chunks
    assert again.search("Assad precondition normalization Turkey", 1)[0].doc_id == "syria"
    again.close()


def test_load_models_picks_the_backend(tmp_path: Path, models_dir: Path) -> None:
    settings = make_settings(tmp_path, embedding_backend="onnx", generator="none", reader="none")
    loaded = load_models(settings.model_copy(update={"models_dir": models_dir}))
    embedder = loaded.embedder  # under the batching queue and the metrics wrapper
    while isinstance(embedder, BatchedEmbedder | InstrumentedEmbedder):
        embedder = embedder.inner
    assert isinstance(embedder, OnnxEmbedder) and embedder.quantized
    fp32 = settings.model_copy(update={"models_dir": models_dir, "onnx_quantized": False})
    assert load_models(fp32).embedder.name.endswith("@onnx-fp32")
    missing = settings.model_copy(update={"models_dir": tmp_path / "empty"})
    with pytest.raises(ModelError, match="prepare-models --onnx"):
        load_models(missing)
