"""What the test app of every adapter does, whatever its framework.

Each adapter's app serves the example app's ``POST /orders`` and these routes, and
counts each run in a :class:`Runs`:

``/echo``, ``/other`` (every method)
    201 to POST and PATCH, else 200: the run, the method and the body received, as JSON;
    ``Location``, ``X-Custom: first`` and ``X-Custom: second`` (one line where the
    framework allows only one), a ``Date`` and a session cookie.
``POST /required``, ``POST /exempt``
    ``/echo``, on a route that requires a key, and on one that is not covered.
``POST /status/<code>``
    ``run <n>`` with that status.
``POST /raise``
    Raises on its first run, answers 201 ``run <n>`` afterwards.
``POST /slow``
    Sets ``entered``, waits for ``opened``, then answers 201 ``run <n>``; with
    ``?first=<code>`` its first run answers that status instead.
``POST /stream?chunks=<n>&size=<bytes>``
    A streamed body of ``n`` chunks: ``a`` repeated ``size`` times, then ``b``, ...
``POST /empty``
    204 without a body.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Mapping

__all__ = [
    "SLOW_TIMEOUT",
    "Runs",
    "chunks",
    "date",
    "echo_json",
    "echo_status",
    "first_status",
    "slow_body",
]

SLOW_TIMEOUT = 30.0
"""The longest ``/slow`` waits for its gate, so a failing test cannot hang."""


class Runs:
    """How many times each route ran, and the gate that holds ``/slow``."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.entered = threading.Event()
        self.opened = threading.Event()

    def start(self, route: str) -> int:
        """Count a run of ``route``; its number."""
        with self._lock:
            self._counts[route] += 1
            return self._counts[route]

    def __getitem__(self, route: str) -> int:
        with self._lock:
            return self._counts[route]

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
        self.entered.clear()
        self.opened.clear()


def echo_json(run: int, method: str, body: bytes) -> bytes:
    return json.dumps({"run": run, "method": method, "received": body.decode("latin-1")}).encode()


def echo_status(method: str) -> int:
    return 201 if method in ("POST", "PATCH") else 200


def date(run: int) -> str:
    return f"Mon, 01 Jan 2024 00:00:{run:02d} GMT"


def chunks(query: Mapping[str, str]) -> list[bytes]:
    """The chunks ``/stream`` sends for its query parameters."""
    size = int(query["size"])
    return [bytes([ord("a") + index % 26]) * size for index in range(int(query["chunks"]))]


def first_status(run: int, query: Mapping[str, str]) -> int:
    """The status of ``/slow``: ``?first=`` on the first run, else 201."""
    return int(query["first"]) if run == 1 and "first" in query else 201


def slow_body(run: int) -> bytes:
    return f"run {run}".encode()
