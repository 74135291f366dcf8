"""Where a model is: a folder of ours or the user's, or else a Hugging Face id."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def resolve_model(name: str, models_dir: Path, *, default: str, missing: str) -> str:
    """A model folder as given or under ``models_dir``, else a Hugging Face id; ``missing``
    (a ``ModelError``) when the default, which should be local, is not there."""
    for candidate in (name, str(models_dir / name)):
        if Path(candidate).exists():
            return candidate
    if name == default:
        raise ModelError(missing)
    return name
