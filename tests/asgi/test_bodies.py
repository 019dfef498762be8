"""Request bodies read for the fingerprint, and response bodies captured for replay
(SEMANTICS sections 5 and 6)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

from idempotency_middleware import MemoryStore, RecordState
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Message, Receive, Scope, Send
from tests.asgi.conftest import (
    MakeService,
    Service,
    StoreFactory,
    assert_problem,
    http_scope,
    raw_app,
    run_asgi,
)

# -- request bodies ---------------------------------------------------------------------


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_keyed_body_over_the_limit_is_413(make_service: MakeService) -> None:
    service = make_service(max_request_bytes=16)
    response = await service.client.post(
        "/echo", content=chunks(b"0123456789", b"0123456789"), headers={"Idempotency-Key": "big"}
    )
    assert_problem(response, 413, "request-too-large")
    assert service.calls["echo"] == 0
    assert await service.record("big") is None


async def test_body_at_the_limit_is_read(make_service: MakeService) -> None:
    service = make_service(max_request_bytes=16)
    body = b"0123456789abcdef"
    response = await service.post("/echo", "fits", content=body)
    assert response.content == body
    assert (await service.post("/echo", "fits", content=body)).headers[
        "idempotent-replayed"
    ] == "true"


async def test_unkeyed_body_over_the_limit_runs_normally(make_service: MakeService) -> None:
    service = make_service(max_request_bytes=16)
    body = b"x" * 100
    response = await service.client.post("/echo", content=body)
    assert response.status_code == 201
    assert response.content == body


async def test_declared_length_over_the_limit_is_413_without_reading() -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(
        raw_app(201, [], [b"ran"], calls), store=MemoryStore(), max_request_bytes=100
    )
    scope = http_scope(
        path="/upload", headers=[(b"idempotency-key", b"k"), (b"content-length", b"101")]
    )
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("the body must not be read")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert (b"content-type", b"application/problem+json") in list(sent[0]["headers"])
    assert b"request-too-large" in sent[1]["body"]
    assert calls["raw"] == 0


async def test_chunked_body_reaches_the_handler_intact(service: Service) -> None:
    scope = http_scope(path="/echo", headers=[(b"idempotency-key", b"chunked")])
    first = await run_asgi(service.app, dict(scope), [b"ab", b"", b"cd", b"ef"])
    assert first.status == 201
    assert first.body == b"abcdef"
    assert service.handlers.bodies == [b"abcdef"]
    # The same bytes split another way are the same request.
    second = await run_asgi(service.app, dict(scope), [b"abcde", b"f"])
    assert second.body == b"abcdef"
    assert second.header_values(b"idempotent-replayed") == [b"true"]
    assert service.calls["echo"] == 1


async def test_after_the_body_receive_waits_for_the_real_disconnect() -> None:
    observed: list[object] = []
    disconnect = asyncio.Event()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        observed.append(await receive())
        pending = asyncio.ensure_future(receive())
        await asyncio.sleep(0.05)
        observed.append(pending.done())  # must still be waiting for the client
        disconnect.set()
        observed.append(await asyncio.wait_for(pending, 5))
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages: list[Message] = [
        {"type": "http.request", "body": b"he", "more_body": True},
        {"type": "http.request", "body": b"llo", "more_body": False},
    ]

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await disconnect.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    app = IdempotencyMiddleware(inner, store=MemoryStore())
    await app(http_scope(path="/x", headers=[(b"idempotency-key", b"k")]), receive, send)
    assert observed == [
        {"type": "http.request", "body": b"hello", "more_body": False},
        False,
        {"type": "http.disconnect"},
    ]


# -- response bodies --------------------------------------------------------------------


async def test_stream_over_the_capture_limit_is_not_replayable(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store(), max_response_bytes=100)
    first = await service.post("/stream?chunks=5&size=50", "s")
    assert first.status_code == 200
    assert first.content == b"a" * 50 + b"b" * 50 + b"c" * 50 + b"d" * 50 + b"e" * 50
    record = await service.record("s")
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is None
    duplicate = await service.post("/stream?chunks=5&size=50", "s")
    assert_problem(duplicate, 409, "response-not-replayable")
    assert service.calls["stream"] == 1


async def test_stream_within_the_limit_replays_the_whole_body(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store(), max_response_bytes=100)
    first = await service.post("/stream?chunks=2&size=50", "s")
    replay = await service.post("/stream?chunks=2&size=50", "s")
    assert first.content == b"a" * 50 + b"b" * 50
    assert replay.content == first.content
    assert replay.headers["x-run"] == "1"
    assert "content-length" not in first.headers  # streamed
    assert replay.headers["content-length"] == "100"
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["stream"] == 1
