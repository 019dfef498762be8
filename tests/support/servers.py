"""Run an app under a real ``uvicorn --workers N`` server, in a child process.

The concurrency promises hold across worker processes, which an in-process client
cannot show. The server picks its own free port (``--port 0``) and reports it in its
log, so no other process can take the port between choosing and binding it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["Server", "running_server"]

ROOT = Path(__file__).resolve().parents[2]

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_READY = "Application startup complete."


@dataclass(frozen=True)
class Server:
    """A running server: its URL, its supervisor process and its log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """The live worker processes (uvicorn replaces a worker that dies)."""
        return _workers(self.process.pid)


def _workers(supervisor: int) -> set[int]:
    """The worker processes of ``supervisor``, read from Linux's /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:  # it exited while we looked
            continue
        # The command name, field 2, may hold spaces and parentheses: split after it.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        # Workers are multiprocessing "spawn" children; the supervisor's other child is
        # multiprocessing's resource tracker, which must be left alone.
        if parent == supervisor and b"spawn_main" in command:
            found.add(int(entry.name))
    return found


def _wait_until_ready(
    process: subprocess.Popen[bytes], log_path: Path, workers: int, timeout: float
) -> str:
    """The base URL, once every worker has started and the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log_path.read_text()}")
        log = log_path.read_text(errors="replace")
        listening = _LISTENING.search(log)
        if listening and log.count(_READY) >= workers:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(listening.group(1) + "/", timeout=2)
                return listening.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"uvicorn was not ready within {timeout} s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes], timeout: float) -> None:
    workers = _workers(process.pid)
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)
        # A killed supervisor leaves its workers serving the port; they are orphans now,
        # so they are recognised by pid and command line.
        for pid in workers:
            with contextlib.suppress(OSError):
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def running_server(
    app: str,
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 4,
    timeout: float = 60,
) -> Iterator[Server]:
    """Serve the app that factory ``app`` (``"module:function"``) builds, with ``workers``
    processes on 127.0.0.1, until the block ends. ``env`` is added to the environment of
    the workers; the server's output goes to ``log_path``."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--workers",
        str(workers),
        "--log-level",
        "info",
        "--no-use-colors",
        "--timeout-graceful-shutdown",
        "5",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(_wait_until_ready(process, log_path, workers, timeout), process, log_path)
    finally:
        _stop(process, timeout=15)
