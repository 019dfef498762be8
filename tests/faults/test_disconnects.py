"""A client that leaves while its handler runs (SEMANTICS section 5), on every store: the
response is stored if the handler finished, the claim released if it raised before its
response started, and completed without a body once the response had started (a stream
cut short, a response over the capture limit): a retry is never a second run.

ASGI: ``receive`` answers ``http.disconnect`` while the handler runs, and ``send`` goes
nowhere, as uvicorn does once the client is gone. WSGI: the server's write fails after
the first chunk, so it stops iterating and calls ``close()``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from idempotency_middleware import asgi, wsgi
from idempotency_middleware.asgi.types import ASGIApp, Message, Receive, Scope, Send
from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores.base import Store
from tests.asgi.conftest import http_scope, run_asgi
from tests.faults.server_app import RunsConfig, environment, runs
from tests.faults.stores import STORE_KINDS, store_of_kind
from tests.support.leaving import leave_mid_response
from tests.support.servers import Server, running_server
from tests.wsgi.conftest import assert_completed_without_a_body, environ, serve

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


def stream(calls: Counter[str], size: int = 4) -> ASGIApp:
    """A stream of ``size``-byte chunks that stops when its client leaves, as Starlette's
    StreamingResponse does under ASGI 2.3: the app returns without its last message."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls["run"] += 1
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * size, "more_body": True})
        if (await receive())["type"] == "http.disconnect":
            return
        await send({"type": "http.response.body", "body": b"x" * size})

    return app


async def retry_is_not_replayable(app: asgi.IdempotencyMiddleware, store: Store) -> None:
    stored = record(store)
    # A second run of a stream would wait for a disconnect that run_asgi never sends.
    retry = await asyncio.wait_for(
        run_asgi(app, http_scope(path="/orders", headers=HEADERS), [b"{}"]), 5
    )
    assert stored is not None
    assert stored.state is RecordState.COMPLETED
    assert stored.response is None
    assert retry.status == 409
    assert b"response-not-replayable" in retry.body


async def test_asgi_a_stream_cut_short_by_its_client_completes_without_a_body(
    store: Store,
) -> None:
    calls: Counter[str] = Counter()
    app = asgi.IdempotencyMiddleware(stream(calls), store=store)

    await leave_while_running(app)

    await retry_is_not_replayable(app, store)
    assert calls["run"] == 1


async def test_asgi_a_response_over_the_limit_whose_client_left_completes_without_a_body(
    store: Store,
) -> None:
    calls: Counter[str] = Counter()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls["run"] += 1
        await send({"type": "http.response.start", "status": 201, "headers": []})
        for _ in range(4):
            await send({"type": "http.response.body", "body": b"x" * 8, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    ours = asgi.IdempotencyMiddleware(app, store=store, max_response_bytes=10)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            raise OSError("the client has gone")  # as servers of ASGI 2.4 report it

    with pytest.raises(OSError):
        await ours(http_scope(path="/orders", headers=HEADERS), receive, send)

    await retry_is_not_replayable(ours, store)
    assert calls["run"] == 1


def chunks(calls: Counter[str], *, raises: bool, first: bytes = b"one,") -> Any:
    """A WSGI app answering three chunks; with ``raises`` its second one fails."""

    def app(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["run"] += 1
        start_response("201 Created", [])

        def produce() -> Iterator[bytes]:
            yield first
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


def test_wsgi_a_response_that_fails_after_it_started_completes_without_a_body(
    store: Store,
) -> None:
    calls: Counter[str] = Counter()
    app = wsgi.IdempotencyMiddleware(chunks(calls, raises=True), store=store)

    with pytest.raises(RuntimeError):
        serve(app, request(), stop_after=1)

    assert_completed_without_a_body(record(store), serve(app, request()))
    assert calls["run"] == 1


def test_wsgi_the_claim_is_released_when_the_handler_raised_before_its_response(
    store: Store,
) -> None:
    calls: Counter[str] = Counter()

    def failing(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["run"] += 1
        raise RuntimeError("the handler failed")

    app = wsgi.IdempotencyMiddleware(failing, store=store)

    with pytest.raises(RuntimeError):
        serve(app, request())
    left = record(store)
    with pytest.raises(RuntimeError):
        serve(app, request())

    assert left is None
    assert calls["run"] == 2


def test_wsgi_a_response_over_the_limit_whose_client_left_completes_without_a_body(
    store: Store,
) -> None:
    calls: Counter[str] = Counter()
    app = wsgi.IdempotencyMiddleware(chunks(calls, raises=False), store=store, max_response_bytes=6)

    gone = serve(app, request(), stop_after=1)

    assert gone.body == b"one,"
    assert_completed_without_a_body(record(store), serve(app, request()))
    assert calls["run"] == 1


# Under a real uvicorn: Starlette's StreamingResponse stops when its client leaves.

CAP = 4096


@pytest.fixture(params=["counted_app", "counted_fastapi_app"])
def streaming_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    config: RunsConfig = {
        "store_url": "memory://",
        "store_options": {},
        "runs_path": str(tmp_path / "runs"),
        "delay": 0.0,
        "options": {"max_response_bytes": CAP},
    }
    with running_server(
        f"tests.faults.server_app:{request.param}",
        log_path=tmp_path / "server.log",
        env=environment(config),
        workers=1,
    ) as server:
        yield server


def settled(base_url: str, path: str, headers: dict[str, str]) -> httpx.Response:
    """The answer to a retry once the first attempt is no longer in progress."""
    deadline = time.monotonic() + 10
    while True:
        response = httpx.post(base_url + path, content=b"{}", headers=headers, timeout=10)
        if b"request-in-progress" not in response.content:
            return response
        assert time.monotonic() < deadline, "the first attempt never finished"
        time.sleep(0.05)


def assert_left_stream_runs_once(
    server: Server, runs_path: Path, chunk_bytes: int, chunks: int
) -> None:
    """Leave ``/stream`` after two chunks, then retry: 409 response-not-replayable, one run."""
    headers = {
        "Idempotency-Key": f"gone-{chunk_bytes}",
        "Content-Type": "application/json",
        "X-Chunks": str(chunks),
        "X-Chunk-Bytes": str(chunk_bytes),
    }
    received = leave_mid_response(server.base_url, "/stream", headers, b"{}", read=2 * chunk_bytes)
    retry = settled(server.base_url, "/stream", headers)

    assert received.startswith(b"HTTP/1.1 201 ")
    assert retry.status_code == 409, server.log()
    assert retry.json()["type"].rstrip("/").endswith("/response-not-replayable")
    assert [key for key, _ in runs(runs_path)] == [headers["Idempotency-Key"]]


LEAVING = pytest.mark.parametrize(
    ("chunk_bytes", "chunks"), [(100, 20), (1000, 20)], ids=["fits", "over"]
)
"""A stream that would fit the capture limit, and one that outgrows it."""


@pytest.mark.server
@LEAVING
def test_a_stream_its_client_left_under_uvicorn_is_not_run_again(
    streaming_server: Server, tmp_path: Path, chunk_bytes: int, chunks: int
) -> None:
    assert_left_stream_runs_once(streaming_server, tmp_path / "runs", chunk_bytes, chunks)
