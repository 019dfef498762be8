"""Run an app under a real ``uvicorn --workers N`` or ``gunicorn --workers N`` server, in
a child process.

The concurrency promises hold across worker processes, which an in-process client
cannot show. The server picks its own free port (port 0) and reports it in its log, so
no other process can take the port between choosing and binding it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["Server", "running_celery_worker", "running_gunicorn", "running_server"]

ROOT = Path(__file__).resolve().parents[2]

_LISTENING = re.compile(r"Uvicorn running on (http://127\.0\.0\.1:\d+)")
_READY = "Application startup complete."
_GUNICORN_LISTENING = re.compile(r"Listening at: (http://127\.0\.0\.1:\d+)")
_GUNICORN_READY = "Booting worker with pid"
# uvicorn's workers are multiprocessing "spawn" children; gunicorn forks its workers, so
# they carry the supervisor's command line.
_UVICORN_WORKER = b"spawn_main"
_GUNICORN_WORKER = b"gunicorn"
# Celery's prefork children are forks of the worker, carrying its command line.
_CELERY_WORKER = b"celery"


@dataclass(frozen=True)
class Server:
    """A running server: its URL, its supervisor process and its log file."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    worker_marker: bytes = _UVICORN_WORKER
    """A byte string found in the command line of a worker and not of its siblings."""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_pids(self) -> set[int]:
        """The live worker processes (the supervisor replaces a worker that dies)."""
        return _workers(self.process.pid, self.worker_marker)


def _workers(supervisor: int, marker: bytes) -> set[int]:
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
        # uvicorn's other child is multiprocessing's resource tracker, which must be left
        # alone: the marker tells the workers apart.
        if parent == supervisor and marker in command:
            found.add(int(entry.name))
    return found


def _wait_until_ready(
    process: subprocess.Popen[bytes],
    log_path: Path,
    workers: int,
    timeout: float,
    *,
    listening_pattern: re.Pattern[str] = _LISTENING,
    ready_line: str = _READY,
    name: str = "uvicorn",
) -> str:
    """The base URL, once every worker has started and the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_path.read_text()}")
        log = log_path.read_text(errors="replace")
        listening = listening_pattern.search(log)
        if listening and log.count(ready_line) >= workers:
            with contextlib.suppress(httpx.TransportError):
                httpx.get(listening.group(1) + "/", timeout=2)
                return listening.group(1)
        time.sleep(0.1)
    raise RuntimeError(f"{name} was not ready within {timeout} s:\n{log_path.read_text()}")


def _stop(
    process: subprocess.Popen[bytes], timeout: float, marker: bytes = _UVICORN_WORKER
) -> None:
    workers = _workers(process.pid, marker)
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
                if marker in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)


def _start(
    command: list[str], log_path: Path, env: Mapping[str, str] | None, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start ``command`` in ``cwd``, with ``env`` added to the environment and its output
    going to ``log_path``."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@contextlib.contextmanager
def running_server(
    app: str,
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 4,
    timeout: float = 60,
    factory: bool = True,
    cwd: Path = ROOT,
) -> Iterator[Server]:
    """Serve the app that factory ``app`` (``"module:function"``) builds, or with
    ``factory=False`` the app ``app`` names (``"main:app"``), with ``workers`` processes on
    127.0.0.1, until the block ends. ``env`` is added to the environment of the workers;
    the server's output goes to ``log_path``. ``app`` is imported from ``cwd``."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        *(["--factory"] if factory else []),
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
    process = _start(command, log_path, env, cwd)
    try:
        yield Server(_wait_until_ready(process, log_path, workers, timeout), process, log_path)
    finally:
        _stop(process, timeout=15)


@contextlib.contextmanager
def running_gunicorn(
    app: str,
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    workers: int = 4,
    timeout: float = 60,
    cwd: Path = ROOT,
    worker_class: str = "sync",
    options: Sequence[str] = (),
) -> Iterator[Server]:
    """Serve the WSGI app of gunicorn app spec ``app`` (``"module:factory()"``) with
    ``workers`` worker processes of ``worker_class`` on 127.0.0.1, until the block ends.
    ``env`` is added to the environment of the workers (the way to configure the
    factory); ``options`` are more command-line options (``--preload``); the server's
    output goes to ``log_path``. ``app`` is imported from ``cwd``: this repository, or a
    project a test created elsewhere."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        "127.0.0.1:0",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "info",
        "--graceful-timeout",
        "5",
        *_gunicorn_control_socket_off(),
        *options,
    ]
    process = _start(command, log_path, env, cwd)
    try:
        base_url = _wait_until_ready(
            process,
            log_path,
            workers,
            timeout,
            listening_pattern=_GUNICORN_LISTENING,
            ready_line=_GUNICORN_READY,
            name="gunicorn",
        )
        yield Server(base_url, process, log_path, worker_marker=_GUNICORN_WORKER)
    finally:
        _stop(process, timeout=15, marker=_GUNICORN_WORKER)


def _gunicorn_control_socket_off() -> list[str]:
    """Newer gunicorns open a control socket at one fixed path per user, which parallel
    servers would fight over; older ones have no such socket nor the flag."""
    settings = importlib.import_module("gunicorn.config").Config().settings
    return ["--no-control-socket"] if "control_socket_disable" in settings else []


@contextlib.contextmanager
def running_celery_worker(
    app: str,
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    concurrency: int = 4,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``celery -A app worker`` with ``concurrency`` prefork processes until the block
    ends. ``env`` is added to its environment (the way to configure the app); its output
    goes to ``log_path``. Messages sent before it is ready wait in the broker."""
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    process = _start(command, log_path, env)
    try:
        yield process
    finally:
        _stop(process, timeout=15, marker=_CELERY_WORKER)
