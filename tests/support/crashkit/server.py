"""The process under test: one ``qa-service serve`` in its own process group, killed with SIGKILL.

POSIX only (process groups, SIGKILL). Talks to 127.0.0.1 only; every loop is bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.live_server import free_port

ROOT = Path(__file__).resolve().parents[3]
HOST = "127.0.0.1"


# --- the server subprocess --------------------------------------------------------------------
def cli_command(*args: str) -> list[str]:
    """``qa-service ARGS`` from the running interpreter's environment."""
    script = Path(sys.executable).parent / "qa-service"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from qa_service.cli.main import app; app()", *args]


def serve_command() -> list[str]:
    """``qa-service serve`` from the running interpreter's environment."""
    return cli_command("serve")


def process_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``qa-service`` subprocess: this one's, plus ``extra``, with this
    checkout first on the import path (the installed package may be another checkout, e.g. when
    the tests run from a git worktree)."""
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


class ServerError(RuntimeError):
    pass


class Server:
    """One ``qa-service serve`` process in its own process group, on a fresh loopback port."""

    def __init__(self, data_dir: Path, log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.log_dir = log_dir
        self.extra_env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        self.log_path = log_dir / "server-0.log"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError("the server is already running")
        self.port = free_port()
        self.starts += 1
        self.log_path = self.log_dir / f"server-{self.starts}.log"
        env = process_env(self.extra_env)
        env.update(QA_DATA_DIR=str(self.data_dir), QA_PORT=str(self.port), QA_HOST=HOST)
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                serve_command(),
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: SIGKILL reaches every child
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout_s: float = 180.0) -> dict[str, Any]:
        """Poll /ready until 200 (bounded); raise with the log tail if the process dies."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise ServerError(
                        f"the server exited with {self.proc.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    r = client.get(f"{self.url}/ready")
                    if r.json().get("status") == "failed":  # waiting will not help
                        raise ServerError(f"the server failed to start: {r.json().get('detail')}")
                    if r.status_code == 200:
                        body: dict[str, Any] = r.json()
                        # warm the embedder up: a fresh process's first embedding is slow
                        client.post(f"{self.url}/search", json={"query": "warm up", "top_k": 1})
                        return body
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise ServerError(f"the server was not ready within {timeout_s:.0f} s:\n{self.log_tail()}")

    def kill9(self) -> list[str]:
        """SIGKILL the whole process group; returns problems (an orphan that survived)."""
        assert self.proc is not None
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        problems: list[str] = []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            problems.append(f"server pid {pgid} still running 15 s after SIGKILL")
        problems += self._group_gone(pgid)
        return problems

    def stop(self, timeout_s: float = 40.0) -> list[str]:
        """SIGTERM (graceful: the FAISS file is saved), SIGKILL if it hangs."""
        if self.proc is None:
            return []
        pgid = self.proc.pid
        problems: list[str] = []
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                problems.append(f"server did not stop within {timeout_s:.0f} s of SIGTERM")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        problems += self._group_gone(pgid)
        return problems

    def _group_gone(self, pgid: int) -> list[str]:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            except PermissionError:
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            return [f"a process of group {pgid} survived the kill (orphan)"]
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((HOST, self.port)) == 0:
                return [f"port {self.port} still accepts connections after the kill"]
        return []


def log_errors(log_path: Path) -> list[str]:
    """Tracebacks and ERROR lines the server logged (a kill -9 itself logs nothing)."""
    try:
        lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    markers = (" ERROR ", " CRITICAL ", '"level": "error"', '"level": "critical"', "Traceback")
    bad = [ln for ln in lines if any(m in ln for m in markers)]
    return [f"server log {log_path.name}: {ln[:300]}" for ln in bad[:5]]


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
