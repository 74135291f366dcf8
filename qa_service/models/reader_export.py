"""Exporting a trained reader to what ships: int8 ONNX (``scripts/train_reader.py`` and tests).

Kept out of ``reader.py``, which serves: nothing here runs in the service.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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
    """Write ``net`` to ``path`` as fp32 ONNX with dynamic batch and sequence axes."""
    import warnings

    import torch

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
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=["score", "start", "end"],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def quantize_reader(fp32: Path, target: Path) -> None:
    """The shipped quantization of an fp32 reader export: dynamic int8, per channel."""
    from onnxruntime.quantization import quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # it logs every tensor at INFO
    try:
        quantize_dynamic(fp32, target, per_channel=True, op_types_to_quantize=["MatMul", "Gather"])
    finally:
        root.setLevel(level)
