"""The completion cannot be written after the handler ran (SEMANTICS section 5): the
client still gets its response, the failure is logged, and the completion is retried
under a renewed lease until the store is back; a later duplicate gets the replay.

The handler itself cuts the store off through the loopback proxy, so the claim went
through and the completion meets a store that is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idempotency_middleware import asgi, wsgi
from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from tests.faults.stores import NETWORKED, Proxied, proxied_store
from tests.wsgi.conftest import environ, serve

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

LOGGER = "idempotency_middleware"
LEASE = 4.0
OUTAGE = 1.5
"""Longer than a renewal tick, shorter than the lease: the claim outlives the outage."""


@pytest.fixture(params=NETWORKED)
async def proxied(request: pytest.FixtureRequest) -> AsyncIterator[Proxied]:
    async with proxied_store(request.param) as proxied:
        yield proxied


def cut_off(proxied: Proxied) -> None:
    proxied.proxy.refuse()
    proxied.proxy.drop()


def outcomes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [str(getattr(r, "idempotency_outcome", "")) for r in caplog.records]


def record_of(proxied: Proxied, key: str) -> Record | None:
    return proxied.direct.get(lookup_key(ANONYMOUS_SCOPE, key, None))


def completed_within(proxied: Proxied, key: str, timeout: float) -> Record:
    deadline = time.monotonic() + timeout
    while True:
        record = record_of(proxied, key)
        if record is not None and record.state is RecordState.COMPLETED:
            return record
        assert time.monotonic() < deadline, f"not completed within {timeout} s: {record}"
        time.sleep(0.05)


async def test_the_response_goes_out_and_the_completion_lands_once_the_store_is_back(
    proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    runs: Counter[str] = Counter()

    async def order(request: Request) -> Response:
        runs["order"] += 1
        cut_off(proxied)
        return JSONResponse({"run": runs["order"]}, status_code=201, headers={"X-Order": "7"})

    ours = Middleware(asgi.IdempotencyMiddleware, store=proxied.store, lease=LEASE)
    app = Starlette(routes=[Route("/orders", order, methods=["POST"])], middleware=[ours])
    caplog.set_level(logging.DEBUG, LOGGER)
    headers = {"Idempotency-Key": "lost"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        first = await client.post("/orders", json={}, headers=headers)
        assert first.status_code == 201
        assert first.json() == {"run": 1}
        assert "completion-failed" in outcomes(caplog)
        held = record_of(proxied, "lost")
        assert held is not None
        assert held.state is RecordState.IN_PROGRESS

        during = await client.post("/orders", json={}, headers=headers)
        assert during.status_code == 503
        await asyncio.sleep(OUTAGE)
        proxied.proxy.heal()
        await asyncio.to_thread(completed_within, proxied, "lost", LEASE)
        replay = await client.post("/orders", json={}, headers=headers)

    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert replay.headers["x-order"] == "7"
    assert runs["order"] == 1
    assert "renewal-failed" in outcomes(caplog)
    assert "completed-late" in outcomes(caplog)


def test_the_sync_face_retries_the_completion_from_its_renewer_thread(
    proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    runs: Counter[str] = Counter()

    def order(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        runs["order"] += 1
        cut_off(proxied)
        body = b'{"run": %d}' % runs["order"]
        start_response("201 Created", [("Content-Length", str(len(body)))])
        return [body]

    app = wsgi.IdempotencyMiddleware(order, store=proxied.store, lease=LEASE)
    caplog.set_level(logging.DEBUG, LOGGER)
    first = serve(app, environ(body=b"{}", headers=[("Idempotency-Key", "lost")]))
    assert first.code == 201
    assert first.body == b'{"run": 1}'
    assert "completion-failed" in outcomes(caplog)

    time.sleep(OUTAGE)
    proxied.proxy.heal()
    completed_within(proxied, "lost", LEASE)
    replay = serve(app, environ(body=b"{}", headers=[("Idempotency-Key", "lost")]))

    assert replay.header("idempotent-replayed") == ["true"]
    assert replay.body == first.body
    assert runs["order"] == 1
