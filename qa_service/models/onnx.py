"""ONNX Runtime and ONNX export, shared by the int8 reader and the ONNX embedding backend.

One CPU session set-up, one torch-to-ONNX export and one dynamic int8 quantization, so the two
models are run and built the same way. ``onnxruntime`` and ``torch`` are imported when called;
exporting and quantizing also need the ``onnx`` package (``pip install 'qa-service[onnx]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

#: The ONNX opset both exports use.
OPSET = 17


def make_session(path: Path, threads: int, *, spinning: bool = True) -> Any:
    """An ONNX Runtime session for ``path`` on the CPU, with every graph optimisation.

    Args:
        path: The ``.onnx`` file.
        threads: Intra-op threads (at least 1; each caller picks its own default). Inter-op
            threads are always 1: our graphs are one chain of ops.
        spinning: Whether idle intra-op threads spin waiting for work (ONNX Runtime's default;
            ``False`` frees the cores between runs at some latency).

    Returns:
        An ``onnxruntime.InferenceSession``.

    Raises:
        Whatever onnxruntime raises for a missing or invalid model.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def export_torch(
    module: torch.nn.Module,
    args: tuple[torch.Tensor, ...],
    path: Path,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: Mapping[str, Mapping[int, str]],
) -> None:
    """Trace ``module`` on the sample ``args`` and write it to ``path`` as fp32 ONNX.

    TorchScript export (``dynamo=False``) at ``OPSET`` with constant folding, in inference mode;
    the axes named in ``dynamic_axes`` stay free (batch, sequence). Callers filter the tracer's
    warnings they expect.
    """
    import torch

    with torch.inference_mode():
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes={k: dict(v) for k, v in dynamic_axes.items()},
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def quantize_int8(
    fp32: Path, target: Path, *, op_types: Sequence[str], reduce_range: bool = False
) -> None:
    """Quantize the fp32 model ``fp32`` to ``target``: dynamic int8 (weights now, activations
    per run), per channel, only the ``op_types`` given.

    ``reduce_range`` keeps 7-bit weights (ONNX Runtime's advice for CPUs without VNNI).
    onnxruntime logs every tensor at INFO on the root logger and advises a pre-processing step
    whose shape inference fails on our graphs, so the root logger is held at ERROR meanwhile.
    """
    from onnxruntime.quantization import quantize_dynamic

    with _root_log_at_error():
        quantize_dynamic(
            fp32,
            target,
            per_channel=True,
            reduce_range=reduce_range,
            op_types_to_quantize=list(op_types),
        )


@contextmanager
def _root_log_at_error() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)
