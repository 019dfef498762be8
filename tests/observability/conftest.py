"""One app behind the ASGI middleware and one behind the Flask extension, a store that
can be told how its next operation goes, and the requests that lead to every outcome.

Every request carries a raw key, an ``Authorization`` value and a body with a marker
in it, so a test can search everything the middleware reported for them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from flask import Flask
from flask import request as flask_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.flask import Idempotency
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.scope import default_scope, lookup_key
from idempotency_middleware.stores import MemoryStore

__all__ = [
    "AUTHORIZATION",
    "BODY_MARKER",
    "RAW_KEY",
    "SCENARIOS",
    "Client",
    "MakeClient",
    "Scenario",
    "ScriptedStore",
]

RAW_KEY = "raw-key-5e1f0c2a"
AUTHORIZATION = "Bearer credential-c0ffee"
BODY_MARKER = "body-secret-4242"
BODY = json.dumps({"card": BODY_MARKER}).encode()


class ScriptedStore(MemoryStore):
    """A MemoryStore whose next claim, completion or release can be made to fail, or to
    find a record that another worker holds (its async face calls the sync one)."""

    def __init__(self) -> None:
        super().__init__()
        self.next_claim: str | None = None
        self.next_complete: str | None = None
        self.next_release: str | None = None

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        fault, self.next_claim = self.next_claim, None
        now = time.time()
        if fault == "unavailable":
            raise StoreError("connection refused")
        if fault == "undecodable":
            raise RecordDecodeError("stored record has format version 99")
        if fault == "in-progress":
            record = Record(RecordState.IN_PROGRESS, fingerprint, "another-worker", now + 30)
            return Claim(False, record, now)
        if fault == "not-replayable":
            record = Record(RecordState.COMPLETED, fingerprint, "another-worker", now + 30)
            return Claim(False, record, now)
        return super().claim(key, owner, fingerprint, lease)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        fault, self.next_complete = self.next_complete, None
        if fault == "unavailable":
            raise StoreError("connection reset")
        if fault == "lost":
            return False
        return super().complete(key, owner, response, ttl)

    def release(self, key: str, owner: str) -> bool:
        fault, self.next_release = self.next_release, None
        if fault == "unavailable":
            raise StoreError("connection reset")
        return super().release(key, owner)


@dataclass
class Client:
    """Posts to ``/orders/<id>`` of one app, behind one adapter."""

    adapter: str
    route: str
    """The route the adapter reports for ``/orders/7``."""
    store: ScriptedStore
    send: Callable[[str, dict[str, str], bytes], Any]
    secret: bytes | None = None
    calls: list[bytes] = field(default_factory=list)

    async def post(
        self,
        key: str | None = RAW_KEY,
        body: bytes = BODY,
        *,
        path: str = "/orders/7",
        authorization: str = AUTHORIZATION,
    ) -> int:
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        result = self.send(path, headers, body)
        if not isinstance(result, int):
            result = await result
        return int(result)

    def key_digest(self, key: str = RAW_KEY, authorization: str = AUTHORIZATION) -> str:
        """The digest under which the record of ``key`` is reported."""
        from idempotency_middleware.request import Request as Neutral

        scope = default_scope(Neutral("POST", "/", headers=(("authorization", authorization),)))
        return lookup_key(scope, key, self.secret)[:16]


class MakeClient(Protocol):
    def __call__(self, adapter: str, **options: Any) -> Client: ...


def _asgi(store: ScriptedStore, calls: list[bytes], options: dict[str, Any]) -> Client:
    async def order(request: Request) -> Response:
        body = await request.body()
        calls.append(body)
        return Response(b"created", status_code=500 if b"fail" in body else 201)

    app = Starlette(routes=[Route("/orders/{id}", order, methods=["POST"])])
    options.setdefault("required", ["/orders/{id}"])
    wrapped = IdempotencyMiddleware(app, store=store, **options)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t")

    async def send(path: str, headers: dict[str, str], body: bytes) -> int:
        return (await client.post(path, headers=headers, content=body)).status_code

    return Client("asgi", "/orders/{id}", store, send, calls=calls)


def _flask(
    store: ScriptedStore, calls: list[bytes], options: dict[str, Any], instance: Path
) -> Client:
    app = Flask(__name__, instance_path=str(instance))
    app.config.update(
        TESTING=True,
        IDEMPOTENCY_STORE=store,
        **{f"IDEMPOTENCY_{name.upper()}": value for name, value in options.items()},
    )
    ext = Idempotency()

    @app.post("/orders/<int:order_id>")
    @ext.required
    def order(order_id: int) -> tuple[str, int]:
        body = flask_request.get_data()
        calls.append(body)
        return "created", 500 if b"fail" in body else 201

    ext.init_app(app)
    test_client = app.test_client()

    def send(path: str, headers: dict[str, str], body: bytes) -> int:
        return test_client.post(path, headers=headers, data=body).status_code

    return Client("flask", "/orders/<int:order_id>", store, send, calls=calls)


@pytest.fixture(params=["asgi", "flask"])
def adapter(request: pytest.FixtureRequest) -> str:
    """The adapter under test: the ASGI middleware or the Flask extension (WSGI)."""
    name: str = request.param
    return name


@pytest.fixture
def make_client(tmp_path: Path) -> MakeClient:
    """Builds a :class:`Client` for an adapter with the given options."""

    def make(adapter: str, **options: Any) -> Client:
        store = ScriptedStore()
        calls: list[bytes] = []
        if adapter == "asgi":
            return _asgi(store, calls, options)
        return _flask(store, calls, options, tmp_path / "instance")

    return make


@dataclass(frozen=True)
class Scenario:
    """A request that leads to ``outcome``, answered ``status`` (None: the app's)."""

    outcome: str
    status: int | None
    keyed: bool = True
    prepare: Callable[[ScriptedStore], None] = lambda store: None
    key: str | None = RAW_KEY
    body: bytes = BODY
    fresh_key: bool = False


def _set(**faults: str) -> Callable[[ScriptedStore], None]:
    def prepare(store: ScriptedStore) -> None:
        for name, value in faults.items():
            setattr(store, name, value)

    return prepare


SCENARIOS = (
    Scenario("executed", 201),
    Scenario("replayed", 201),
    Scenario("mismatch", 422, body=json.dumps({"card": BODY_MARKER, "n": 2}).encode()),
    Scenario("in-progress", 409, prepare=_set(next_claim="in-progress"), fresh_key=True),
    Scenario("not-replayable", 409, prepare=_set(next_claim="not-replayable"), fresh_key=True),
    Scenario("key-invalid", 400, keyed=False, key=RAW_KEY * 20),
    Scenario("request-too-large", 413, keyed=False, body=BODY * 100),
    Scenario("key-missing", 400, keyed=False, key=None),
    Scenario("store-unavailable", 503, prepare=_set(next_claim="unavailable"), fresh_key=True),
    Scenario("record-undecodable", 503, prepare=_set(next_claim="undecodable"), fresh_key=True),
    Scenario("released", 500, body=b'{"fail": "' + BODY_MARKER.encode() + b'"}', fresh_key=True),
    Scenario("completion-failed", 201, prepare=_set(next_complete="unavailable"), fresh_key=True),
    Scenario("lease-lost", 201, prepare=_set(next_complete="lost"), fresh_key=True),
    Scenario(
        "release-failed",
        500,
        prepare=_set(next_release="unavailable"),
        body=b'{"fail": "' + BODY_MARKER.encode() + b'"}',
        fresh_key=True,
    ),
)
"""In order: the first two share a key, so the second replays the first."""
