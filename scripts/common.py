"""What the scripts share: the repository's paths, machine facts, percentiles, result files.

Imported as ``scripts.common`` (run the scripts from the repository root with ``python -m``); the
live server the benchmarks start is ``tests.support.live_server``.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SHARED_EVAL = ROOT.parent / "shared" / "data" / "eval"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_line() -> str:
    """The CPU in one line for a result table: model, cores and the flags that decide speed."""
    from qa_service.models.cpu import cpu_flags

    flags = " ".join(cpu_flags()) or "flags unknown"
    return f"CPU: {cpu_model()}, {os.cpu_count()} cores ({flags})"


def machine() -> dict[str, Any]:
    import torch

    from qa_service.models.cpu import cpu_flags

    return {
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cpu": cpu_model(),
        "cpu_flags": list(cpu_flags()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "sentence_transformers": version("sentence-transformers"),
        "faiss": version("faiss-cpu"),
        "cuda": torch.cuda.is_available(),
    }


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc, else resource's peak)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average(warn: bool = False) -> float:
    """1-minute load average; other processes competing for the cores make timings noisy."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if warn and load > 0.5 * cores:
        print(
            f"warning: load average {load:.1f} on {cores} cores before the run; timings are noisy"
        )
    return round(load, 2)


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1), nearest rank."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def summary_ms(values_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 0.5), 1),
        "p95_ms": round(pct(ms, 0.95), 1),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
    }


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=1))
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if v is None:
            return "-"
        return (
            f"{v:.3g}"
            if isinstance(v, float) and abs(v) < 1
            else (f"{v:,.1f}" if isinstance(v, float) else str(v))
        )

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(
            f"{path} not found. Benchmarks read the evaluation data from ../shared/data/eval/ "
            "(or pass a path in the same format)."
        )
    return path
