"""scripts/train/reader.py end to end on a tiny synthetic data set: two steps, then the export
loads as the service's reader. Training never runs for real in the suite; this catches a broken
script (data loading, our own question files, the bf16 choice, export) in under a minute."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from qa_service.models.reader import READER_CONFIG, TransformersReader
from tests.conftest import ROOT

PARAGRAPHS = [
    "The harbour reopened on Monday after a storm. Ferries to the island resumed at noon. "
    "The mayor said repairs cost two million euros.",
    "The museum holds 4,000 paintings. Its oldest work dates from 1420. "
    "Visitors queued for three hours on the first day.",
    "A new bridge links the two towns. It was designed by Ana Ruiz. Work began in 2019.",
]
QUESTIONS = [
    ("When did the harbour reopen?", 0, "Monday"),
    ("How much did the repairs cost?", 0, "two million euros"),
    ("How many paintings does the museum hold?", 1, "4,000"),
    ("Who designed the bridge?", 2, "Ana Ruiz"),
    ("When did work on the bridge begin?", 2, "2019"),
]


def _write_data(folder: Path) -> Path:
    folder.mkdir()
    lines: list[dict[str, object]] = []
    for i, text in enumerate(PARAGRAPHS):
        lines.append({"type": "document", "id": f"squad-town-{i}", "title": "Town", "text": text})
    for n, (q, i, answer) in enumerate(QUESTIONS):
        start = PARAGRAPHS[i].index(answer)
        lines.append(
            {"type": "question", "id": f"q{n}", "question": q, "doc_id": f"squad-town-{i}",
             "answerable": True, "answers": [{"text": answer, "start": start}]}
        )  # fmt: skip
    (folder / "squad_v1_train.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    unanswerable = {"type": "question", "id": "u0", "question": "Who designed the museum?",
                    "doc_id": "squad-town-1", "answerable": False, "answers": []}  # fmt: skip
    (folder / "squad_v2_train_extra.jsonl").write_text(json.dumps(unanswerable) + "\n")
    ours = folder / "ours.jsonl"
    plausible = [0, PARAGRAPHS[2].index(" It was")]
    ours.write_text(
        json.dumps({"id": "hw-0", "doc_id": "squad-town-2", "question": "Who built the bridge?",
                    "plausible": plausible, "kind": "detail_not_given", "origin": "hand"}) + "\n"
        + json.dumps({"id": "var-0", "of": "q3", "question": "Who drew up the bridge?"}) + "\n"
    )  # fmt: skip
    return ours


def test_two_steps_train_and_export_a_loadable_reader(tmp_path: Path) -> None:
    ours = _write_data(tmp_path / "train")
    out = tmp_path / "reader"
    run = subprocess.run(
        [sys.executable, "-m", "scripts.train.reader",
         "--data", str(tmp_path / "train"), "--work", str(tmp_path / "work"), "--out", str(out),
         "--steps", "2", "--groups", "2", "--negatives", "2", "--threads", "1",
         "--extra", str(ours)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "8 questions (2 of ours)" in run.stderr
    assert "bf16 autocast" in run.stderr  # the choice is logged, on or off by CPU
    meta = json.loads((out / READER_CONFIG).read_text())
    assert meta["trained_steps"] == 2 and meta["extra"] == ["ours.jsonl"]
    reader = TransformersReader(str(out), device="cpu", threads=1)
    readings = reader.read("Who designed the bridge?", ["It was designed by Ana Ruiz.", "Hi."])
    assert len(readings) == 2
    assert (tmp_path / "work" / "final" / "model.safetensors").is_file()
