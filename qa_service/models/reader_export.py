"""Exporting a trained reader to what ships: int8 ONNX (``scripts/train/reader.py`` and tests).

Kept out of ``reader.py``, which serves: nothing here runs in the service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .onnx import export_torch, quantize_int8
from .reader import ONNX_FILE


def export_reader_onnx(net: Any, tokenizer: Any, folder: Path) -> None:
    """Write our reader ``net`` to ``folder/model.onnx``, int8 (dynamic, per channel, MatMul and
    Gather: 23 MB; scores within 0.01 of fp32 torch)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        export_fp32_onnx(net, tokenizer, fp32)
        quantize_reader(fp32, folder / ONNX_FILE)


def export_fp32_onnx(net: Any, tokenizer: Any, path: Path) -> None:
    """Write our reader ``net`` to ``path`` as fp32 ONNX with dynamic batch and sequence axes."""
    import warnings

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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_torch(
            net,
            tuple(sample[n] for n in names),
            path,
            input_names=names,
            output_names=["score", "start", "end"],
            dynamic_axes=axes,
        )


def quantize_reader(fp32: Path, target: Path) -> None:
    """The shipped quantization of an fp32 reader export: dynamic int8, per channel, MatMul and
    Gather (the embeddings too: 23 MB)."""
    quantize_int8(fp32, target, op_types=["MatMul", "Gather"])
