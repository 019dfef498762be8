"""Requests built ahead of the timed part: ASGI scopes, ``receive`` and ``send``.

Every variant gets the same stream of requests; building them costs nothing while the
clock runs, and no HTTP is parsed, so the in-process driver times the app and its
middleware alone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from benchmarks.app import ORDER_BODY
from benchmarks.settings import Scenario
from idempotency_middleware.asgi.types import Message

__all__ = ["PreparedRequest", "Receive", "Recorder", "prepare"]

_COMMON_HEADERS = [
    (b"host", b"127.0.0.1:8000"),
    (b"user-agent", b"benchmarks/1.0"),
    (b"accept", b"*/*"),
]
_POST_HEADERS = [
    *_COMMON_HEADERS,
    (b"content-type", b"application/json"),
    (b"content-length", str(len(ORDER_BODY)).encode()),
]


class Receive:
    """The request's body in one message, then the client leaving."""

    __slots__ = ("_message", "_sent")

    def __init__(self, body: bytes) -> None:
        self._message: Message = {"type": "http.request", "body": body, "more_body": False}
        self._sent = False

    async def __call__(self) -> Message:
        if self._sent:
            return {"type": "http.disconnect"}
        self._sent = True
        return self._message


class Recorder:
    """The ``send`` of a measurement: counts the statuses answered."""

    __slots__ = ("statuses",)

    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.statuses[message["status"]] += 1


PreparedRequest = tuple[dict[str, Any], Receive]


def _scope(scenario: Scenario, key: str | None) -> dict[str, Any]:
    headers = list(_POST_HEADERS if scenario.method == "POST" else _COMMON_HEADERS)
    if key is not None:
        headers.append((b"idempotency-key", key.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": scenario.method,
        "scheme": "http",
        "path": scenario.path,
        "raw_path": scenario.path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def replay_key() -> str:
    """A key for one replay measurement, completed by a first request before it."""
    return str(uuid.uuid4())


def prepare(scenario: Scenario, count: int, key: str | None = None) -> list[PreparedRequest]:
    """``count`` requests of ``scenario``; ``key`` is the key every replay sends."""
    body = ORDER_BODY if scenario.method == "POST" else b""
    requests: list[PreparedRequest] = []
    for _ in range(count):
        if not scenario.keyed:
            request_key = None
        elif scenario.new_key_each_time:
            request_key = str(uuid.uuid4())
        else:
            request_key = key or replay_key()
        requests.append((_scope(scenario, request_key), Receive(body)))
    return requests
