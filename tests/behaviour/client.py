"""The one way in of the behaviour suite: a request in, a :class:`Reply` out, whatever
the adapter, and what the handler and the store went through."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from idempotency_middleware.records import Record
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import Store
from tests.behaviour.handlers import Runs
from tests.support.problems import assert_problem as assert_problem

__all__ = ["ORDER", "Client", "Headers", "Reply", "Send", "assert_problem"]

Headers = Sequence[tuple[str, str]]

ORDER = b'{"item": "annual plan", "amount": 19900}'
"""A body the example apps' ``POST /orders`` accepts."""


@dataclass(frozen=True)
class Reply:
    """A response as the client received it: header names lower-cased, lines in order."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every line of header ``name``."""
        return [value for key, value in self.headers if key == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def replayed(self) -> bool:
        return self.header("idempotent-replayed") == ["true"]


class Send(Protocol):
    """One request through an adapter, as its server would deliver it."""

    def __call__(self, method: str, path: str, headers: Headers, body: bytes) -> Reply: ...


@dataclass
class Client:
    """An adapter's test app on a fresh store: send requests, read the handler's runs
    (``runs``, and ``orders(key)`` for the example's ``POST /orders``) and the store."""

    adapter: str
    transport: Send
    runs: Runs
    store: Store
    orders: Callable[[str], int]
    secret: bytes | None = None

    def send(self, method: str, path: str, headers: Headers = (), body: bytes = b"") -> Reply:
        return self.transport(method, path, headers, body)

    def post(
        self, path: str, key: str | None = None, body: bytes = ORDER, headers: Headers = ()
    ) -> Reply:
        """A JSON POST, with ``key`` in ``Idempotency-Key``."""
        lines = [("Content-Type", "application/json"), *headers]
        if key is not None:
            lines.append(("Idempotency-Key", key))
        return self.send("POST", path, lines, body)

    def record(self, key: str, scope: str = ANONYMOUS_SCOPE) -> Record | None:
        """The record the store holds for ``key`` of ``scope``."""
        return self.store.get(lookup_key(scope, key, self.secret))
