"""Where models are found: a folder as given, under models_dir, or a Hugging Face id."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_service.config import Settings
from qa_service.errors import ModelError
from qa_service.models.generation import resolve_generator_model
from qa_service.models.paths import resolve_model
from qa_service.models.reader import resolve_reader_model


def test_a_folder_as_given_or_under_models_dir(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    given = str(tmp_path / "mine")
    assert resolve_model(given, Path("elsewhere"), default="x", missing="?") == given
    found = resolve_model("mine", tmp_path, default="x", missing="?")
    assert found == str(tmp_path / "mine")


def test_anything_else_is_a_hub_id(tmp_path: Path) -> None:
    name = "cross-encoder/ms-marco-MiniLM-L6-v2"
    assert resolve_model(name, tmp_path, default="x", missing="?") == name


def test_a_missing_default_says_how_to_get_it(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", models_dir=tmp_path)
    with pytest.raises(ModelError, match=r"python -m scripts\.train\.reader"):
        resolve_reader_model(settings)
    with pytest.raises(ModelError, match="make models"):
        resolve_generator_model(settings)
