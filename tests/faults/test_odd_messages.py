"""Requests and responses off the common path (SEMANTICS sections 1 and 6): a server-sent
event stream, HEAD with a key, and a binary request body."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore
from tests.asgi.conftest import BASE_URL, assert_problem

EVENTS = 20
BINARY = bytes(range(256)) * 4


def app(calls: Counter[str], store: MemoryStore, **options: object) -> httpx.AsyncClient:
    async def events(request: Request) -> Response:
        calls["events"] += 1

        async def produce() -> AsyncIterator[bytes]:
            for number in range(EVENTS):
                yield b"id: %d\ndata: tick %d\n\n" % (number, number)
                await asyncio.sleep(0)

        return StreamingResponse(produce(), media_type="text/event-stream")

    async def echo(request: Request) -> Response:
        calls[request.method] += 1
        body = await request.body()
        return Response(body, status_code=201, media_type="application/octet-stream")

    routes = [
        Route("/events", events, methods=["POST"]),
        Route("/echo", echo, methods=["POST", "HEAD", "GET"]),
    ]
    ours = Middleware(IdempotencyMiddleware, store=store, **options)
    starlette = Starlette(routes=routes, middleware=[ours])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=starlette), base_url=BASE_URL)


async def test_an_event_stream_reaches_its_caller_whole_and_is_never_run_again() -> None:
    calls: Counter[str] = Counter()
    async with app(calls, MemoryStore(), max_response_bytes=100) as client:
        headers = {"Idempotency-Key": "stream"}
        async with client.stream("POST", "/events", headers=headers) as first:
            received = [line async for line in first.aiter_lines() if line.startswith("data")]
        duplicate = await client.post("/events", headers=headers)

    assert first.headers["content-type"].startswith("text/event-stream")
    assert received == [f"data: tick {number}" for number in range(EVENTS)]
    assert_problem(duplicate, 409, "response-not-replayable")
    assert calls["events"] == 1


async def test_head_with_a_key_passes_through_untouched() -> None:
    calls: Counter[str] = Counter()
    store = MemoryStore()
    async with app(calls, store) as client:
        responses = [await client.head("/echo", headers={"Idempotency-Key": "h"}) for _ in "12"]

    assert [r.status_code for r in responses] == [201, 201]
    assert all("idempotent-replayed" not in r.headers for r in responses)
    assert calls["HEAD"] + calls["GET"] == 2
    assert len(store) == 0


async def test_a_binary_body_is_fingerprinted_and_replayed_byte_for_byte() -> None:
    calls: Counter[str] = Counter()
    async with app(calls, MemoryStore()) as client:
        headers = {"Idempotency-Key": "bin", "Content-Type": "application/octet-stream"}
        first = await client.post("/echo", content=BINARY, headers=headers)
        replay = await client.post("/echo", content=BINARY, headers=headers)
        other = await client.post("/echo", content=BINARY[::-1], headers=headers)

    assert first.content == BINARY
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == BINARY
    assert_problem(other, 422, "key-reused")
    assert calls["POST"] == 1
