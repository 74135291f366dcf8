"""Optional generator backend: GGUF models through llama.cpp (``pip install qa-service[llamacpp]``).

llama.cpp runs the quantized GGUF directly: it loads in under a second and decodes about 3x
faster than transformers on a CPU (``../shared/MODELS.md``; ``scripts/bench/generate.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ModelError
from .generation import GeneratorBase, TextStream, cut_at_stop

log = logging.getLogger(__name__)


def find_gguf(name: str, settings: Settings) -> Path:
    """The ``.gguf`` file for ``QA_GENERATOR_MODEL``: a file, a folder holding one (as given or
    under ``models_dir``), else the default model assembled from its PyPI packages."""
    from .prepare import gguf_path

    for candidate in (Path(name), settings.models_dir / name):
        if candidate.is_file() and candidate.suffix == ".gguf":
            return candidate
        if candidate.is_dir() and (found := sorted(candidate.glob("*.gguf"))):
            return found[0]
    return gguf_path(settings.models_dir)


class LlamaCppGenerator(GeneratorBase):
    """Greedy generation with llama-cpp-python; one generation at a time per instance."""

    def __init__(self, model: str, *, settings: Settings) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as e:
            raise ModelError(
                "QA_GENERATOR=llamacpp needs llama-cpp-python: "
                "`.venv/bin/pip install 'llama-cpp-python==0.3.36'` (builds from source)."
            ) from e
        path = find_gguf(model, settings)
        threads = settings.torch_threads or os.cpu_count() or 2
        try:
            self._llm: Any = Llama(
                model_path=str(path),
                n_ctx=2048,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=-1 if settings.device != "cpu" else 0,
                verbose=False,
            )
        except Exception as e:
            raise ModelError(f"Could not load GGUF model {path}: {e}") from e
        self.name = f"{path.name}@llama.cpp"
        self.is_chat = bool(self._llm.metadata.get("tokenizer.chat_template"))
        self._lock = threading.Lock()
        log.info("generator %s loaded with llama.cpp (%d threads)", path, threads)

    def apply_chat_template(self, messages: list[dict[str, str]]) -> str:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self._llm.metadata["tokenizer.chat_template"]
        formatter = Jinja2ChatFormatter(template=template, eos_token="", bos_token="")
        return str(formatter(messages=messages).prompt)  # type: ignore[arg-type,unused-ignore]

    def stream(self, prompt: str, *, max_new_tokens: int, stop: Sequence[str] = ()) -> TextStream:
        with self._lock:
            chunks = self._llm.create_completion(
                prompt,
                max_tokens=max_new_tokens,
                temperature=0.0,
                stop=list(stop) or None,
                stream=True,
            )
            for chunk in chunks:
                text = chunk["choices"][0]["text"]
                if text:
                    yield cut_at_stop(text, stop)[0]
