"""The reader's loading paths (ours on torch and ONNX, a cross-encoder, a QA model) on tiny
random models built here, and the span search."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.errors import ModelError
from qa_service.models.embedding import resolve_embedding_model
from qa_service.models.reader import (
    READER_CONFIG,
    ReadRequest,
    TransformersReader,
    best_span,
    load_reader,
    reader_context,
)
from qa_service.models.reader_export import export_reader_onnx
from qa_service.models.reader_net import build_net

QUESTION = "How far did the insurgents retreat?"
SENTENCES = ["Insurgents retreated 12 miles from the area.", "It rained.", "Talks went on."]


def tiny_config():
    from transformers import BertConfig

    return BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_embedding_model("all-MiniLM-L6-v2"))


def test_best_span_respects_order_length_and_mask():
    start = [9.0, 1.0, 5.0, 0.0, 0.0]
    end = [9.0, 0.0, 0.0, 4.0, 8.0]
    allowed = [False, True, True, True, True]
    assert (best_span(start, end, allowed, max_len=5) or ())[:2] == (2, 4)
    assert (best_span(start, end, allowed, max_len=2) or ())[:2] == (2, 3)
    assert best_span(start, end, [False] * 5, max_len=5) is None


def _own(tmp: Path, tokenizer, onnx: bool, context: bool = False) -> Path:
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = build_net(tiny_config()).eval()
    folder = tmp / ("onnx" if onnx else "torch")
    folder.mkdir()
    if onnx:
        export_reader_onnx(net, tokenizer, folder)
    save_file({k: v.half().contiguous() for k, v in net.state_dict().items()},
              str(folder / "model.safetensors"))  # fmt: skip
    tiny_config().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    meta = {"name": "tiny", "max_length": 64, "threshold": 0.42, "context": context}
    (folder / READER_CONFIG).write_text(json.dumps(meta))
    return folder


def test_own_reader_on_torch_and_onnx_agree(tmp_path, tokenizer):
    torch_reader = TransformersReader(str(_own(tmp_path, tokenizer, onnx=False)))
    onnx_dir = _own(tmp_path, tokenizer, onnx=True)
    (onnx_dir / "model.safetensors").unlink()  # what ships: ONNX only
    onnx_reader = TransformersReader(str(onnx_dir))
    assert onnx_reader.quantized and not torch_reader.quantized  # ONNX (int8) vs torch
    assert onnx_reader.threshold == 0.42
    a, b = torch_reader.read(QUESTION, SENTENCES), onnx_reader.read(QUESTION, SENTENCES)
    assert len(a) == len(b) == len(SENTENCES)
    for x, y, sentence in zip(a, b, SENTENCES, strict=True):
        assert abs(x.score - y.score) < 0.05
        assert x.span is not None and 0 <= x.span[0] < x.span[1] <= len(sentence)


@pytest.mark.parametrize("kind", ["cross-encoder", "qa"])
def test_hugging_face_cross_encoders_and_qa_models_load(tmp_path, tokenizer, kind):
    from transformers import BertForQuestionAnswering, BertForSequenceClassification

    config = tiny_config()
    config.num_labels = 1 if kind == "cross-encoder" else 2
    cls = BertForQuestionAnswering if kind == "qa" else BertForSequenceClassification
    model = cls(config)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    reader = TransformersReader(str(tmp_path))
    assert reader.kind == kind and reader.threshold is None
    readings = reader.read(QUESTION, SENTENCES)
    assert len({round(r.score, 6) for r in readings}) == len(SENTENCES)  # each one read
    assert all((r.span is not None) == (kind == "qa") for r in readings)


def test_missing_reader_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="QA_READER=none"):
        load_reader(Settings(models_dir=tmp_path))
    with pytest.raises(ModelError, match="Could not load reader"):
        load_reader(Settings(models_dir=tmp_path, reader_model=str(tmp_path)))
    assert load_reader(Settings(models_dir=tmp_path, reader="none")) is None


def test_reader_context_is_title_and_previous_sentence_capped():
    assert reader_context("Syria  war", "He said so.") == "Syria war | He said so."
    assert reader_context(None, "He said so.") == "He said so."
    assert reader_context("", None) == ""
    assert len(reader_context("t" * 500, "p")) == 200


def test_a_model_trained_with_context_reads_it_and_answers_inside_the_sentence(tmp_path, tokenizer):
    reader = TransformersReader(str(_own(tmp_path, tokenizer, onnx=True, context=True)))
    assert reader.context
    contexts = [reader_context("Retreat from Hama", "The rebels advanced. " * 8)] * len(SENTENCES)
    plain, read = reader.read(QUESTION, SENTENCES), reader.read(QUESTION, SENTENCES, contexts)
    assert any(abs(a.score - b.score) > 1e-6 for a, b in zip(plain, read, strict=True))
    for r, sentence in zip(read, SENTENCES, strict=True):
        # the short answer is never taken from the context
        assert r.span is not None and 0 <= r.span[0] < r.span[1] <= len(sentence)


def test_models_trained_without_context_ignore_it(tmp_path, tokenizer):
    reader = TransformersReader(str(_own(tmp_path, tokenizer, onnx=False)))
    contexts = ["Some title | A previous sentence."] * len(SENTENCES)
    assert reader.read(QUESTION, SENTENCES) == reader.read(QUESTION, SENTENCES, contexts)


@pytest.mark.parametrize("onnx", [True, False], ids=["onnx-int8", "torch"])
def test_read_batch_gives_each_request_what_read_gives_it(tmp_path, tokenizer, onnx):
    reader = TransformersReader(str(_own(tmp_path, tokenizer, onnx=onnx)))
    requests = [
        ReadRequest(QUESTION, SENTENCES),
        ReadRequest("Who talked?", ["Talks went on.", "The talks " + "went on and on " * 12]),
    ]
    batch = reader.read_batch(requests)
    alone = [reader.read(r.question, r.sentences) for r in requests]
    assert [len(b) for b in batch] == [3, 2]
    for got, want in zip(batch, alone, strict=True):
        for x, y in zip(got, want, strict=True):
            # int8 requests never share a forward pass: the very same scores
            assert x.span == y.span and (
                x.score == y.score if onnx else abs(x.score - y.score) < 1e-5
            )
    assert reader.read_batch([]) == [] and reader.read(QUESTION, []) == []
