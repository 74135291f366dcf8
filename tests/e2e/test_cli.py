"""The command line, with the real embedding model."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from qa_service.cli.main import app
from tests.conftest import SEED_ARTICLE


def row(output: str) -> list[int]:
    """The counts row of the summary table."""
    line = next(ln for ln in output.splitlines() if re.match(r"^│\s+\d", ln))
    return [int(n) for n in re.findall(r"\d+", line)]


def test_ingest_folder_reports_counts_and_keeps_going(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "seed.txt").write_text(SEED_ARTICLE.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "broken.json").write_text("{oops")
    (folder / "z.jsonl").write_text('{"id": "z1", "text": "Zebra crossing repainted."}\n')
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(folder)])
    assert result.exit_code == 1, result.output  # one file failed
    assert "broken.json" in result.output and "invalid JSON" in result.output
    assert row(result.output) == [2, 0, 0, 1]  # created, updated, unchanged, failed
    again = runner.invoke(app, ["ingest", str(folder / "seed.txt"), str(folder / "z.jsonl")])
    assert again.exit_code == 0, again.output
    assert row(again.output) == [0, 0, 2, 0]
