"""A client that leaves while its handler runs (SEMANTICS section 5), on every store: the
response is stored if the handler finished, the claim released if it raised, and no
claim is left behind either way.

ASGI: ``receive`` answers ``http.disconnect`` while the handler runs, and ``send`` goes
nowhere, as uvicorn does once the client is gone. WSGI: the server's write fails after
the first chunk, so it stops iterating and calls ``close()``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from idempotency_middleware import asgi, wsgi
from idempotency_middleware.asgi.types import ASGIApp, Message, Receive, Scope, Send
from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores.base import Store
from tests.asgi.conftest import http_scope, run_asgi
from tests.faults.stores import STORE_KINDS, store_of_kind
from tests.wsgi.conftest import environ, serve

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

KEY = "left"
HEADERS = [(b"idempotency-key", KEY.encode()), (b"content-type", b"application/json")]


@pytest.fixture(params=STORE_KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    with store_of_kind(request.param, tmp_path) as store:
        yield store
        await store.aclose()


def record(store: Store) -> Record | None:
    return store.get(lookup_key(ANONYMOUS_SCOPE, KEY, None))


def handler(calls: Counter[str], *, raises: bool) -> ASGIApp:
    """An app that reads its body, sees its client leave, then finishes or raises."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls["run"] += 1
        await receive()
        assert (await receive())["type"] == "http.disconnect"
        if raises:
            raise RuntimeError("the handler failed after its client left")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"made %d" % calls["run"]})

    return app


async def leave_while_running(app: asgi.IdempotencyMiddleware) -> None:
    """Send the body, then answer every later receive with a disconnect."""
    messages: Iterator[Message] = iter([{"type": "http.request", "body": b"{}"}])

    async def receive() -> Message:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: Message) -> None:
        pass  # the client is gone: nothing reaches it

    await app(http_scope(path="/orders", headers=HEADERS), receive, send)


async def test_asgi_a_finished_response_is_stored_after_the_client_left(store: Store) -> None:
    calls: Counter[str] = Counter()
    app = asgi.IdempotencyMiddleware(handler(calls, raises=False), store=store)

    await leave_while_running(app)
    stored = record(store)
    retry = await run_asgi(app, http_scope(path="/orders", headers=HEADERS), [b"{}"])

    assert stored is not None
    assert stored.state is RecordState.COMPLETED
    assert retry.status == 201
    assert retry.body == b"made 1"
    assert retry.header_values(b"idempotent-replayed") == [b"true"]
    assert calls["run"] == 1


async def test_asgi_the_claim_is_released_when_the_handler_raised(store: Store) -> None:
    calls: Counter[str] = Counter()
    app = asgi.IdempotencyMiddleware(handler(calls, raises=True), store=store)

    with pytest.raises(RuntimeError):
        await leave_while_running(app)
    left = record(store)
    with pytest.raises(RuntimeError):
        await leave_while_running(app)

    assert left is None
    assert calls["run"] == 2  # the retry ran: no claim was left to answer 409


def chunks(calls: Counter[str], *, raises: bool) -> Any:
    """A WSGI app answering three chunks; with ``raises`` its second one fails."""

    def app(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["run"] += 1
        start_response("201 Created", [])

        def produce() -> Iterator[bytes]:
            yield b"one,"
            if raises:
                raise RuntimeError("the handler failed after its client left")
            yield b"two,"
            yield b"three"

        return produce()

    return app


def request() -> dict[str, Any]:
    return environ(body=b"{}", headers=[("Idempotency-Key", KEY)])


def test_wsgi_a_finished_response_is_stored_after_the_write_failed(store: Store) -> None:
    calls: Counter[str] = Counter()
    app = wsgi.IdempotencyMiddleware(chunks(calls, raises=False), store=store)

    gone = serve(app, request(), stop_after=1)
    stored = record(store)
    retry = serve(app, request())

    assert gone.body == b"one,"
    assert stored is not None
    assert stored.state is RecordState.COMPLETED
    assert retry.body == b"one,two,three"
    assert retry.header("idempotent-replayed") == ["true"]
    assert calls["run"] == 1


def test_wsgi_the_claim_is_released_when_the_handler_raised(store: Store) -> None:
    calls: Counter[str] = Counter()
    app = wsgi.IdempotencyMiddleware(chunks(calls, raises=True), store=store)

    with pytest.raises(RuntimeError):
        serve(app, request(), stop_after=1)
    left = record(store)
    with pytest.raises(RuntimeError):
        serve(app, request())

    assert left is None
    assert calls["run"] == 2
