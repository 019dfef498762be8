"""The store goes away mid-run and comes back (SEMANTICS section 7): fail closed answers
503 and never runs the handler, fail open runs it and logs an error, and once the store
is back the same middleware works on, without a restart. A store that stops answering
without closing anything is answered 503 within its configured bound, sync and async.

The store is cut off by the loopback proxy: open connections dropped, new ones refused,
or every byte held.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from idempotency_middleware.wsgi import IdempotencyMiddleware
from tests.asgi.conftest import MakeService, assert_problem
from tests.faults.stores import NETWORKED, TIMEOUTS, Proxied, proxied_store
from tests.support.replays import is_replay
from tests.wsgi.conftest import assert_problem as assert_wsgi_problem
from tests.wsgi.conftest import chunked_app, environ, serve

LOGGER = "idempotency_middleware"
ORDER = {"item": "book"}


@pytest.fixture(params=NETWORKED)
async def proxied(request: pytest.FixtureRequest) -> AsyncIterator[Proxied]:
    async with proxied_store(request.param) as proxied:
        yield proxied


def logged(caplog: pytest.LogCaptureFixture, outcome: str) -> bool:
    return any(
        getattr(r, "idempotency_outcome", None) == outcome and r.levelno == logging.ERROR
        for r in caplog.records
    )


def cut_off(proxied: Proxied) -> None:
    """The server goes away: open connections drop, new ones are refused."""
    proxied.proxy.refuse()
    proxied.proxy.drop()


async def test_fail_closed_answers_503_during_the_outage_and_recovers(
    proxied: Proxied, make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(store=proxied.store)
    caplog.set_level(logging.DEBUG, LOGGER)
    before = await service.post("/orders", "before", json_body=ORDER)
    assert before.status_code == 201

    cut_off(proxied)
    down = [await service.post("/orders", key, json_body=ORDER) for key in ("before", "during")]
    for response in down:
        assert_problem(response, 503, "store-unavailable")
        assert int(response.headers["retry-after"]) >= 1
    assert service.calls["/orders"] == 1
    assert logged(caplog, "store-unavailable")

    proxied.proxy.heal()
    after = await service.post("/orders", "during", json_body=ORDER)
    duplicate = await service.post("/orders", "during", json_body=ORDER)
    replay = await service.post("/orders", "before", json_body=ORDER)

    assert after.status_code == 201
    assert not is_replay(after)
    assert is_replay(duplicate)
    assert duplicate.content == after.content
    assert is_replay(replay)
    assert replay.content == before.content
    assert service.calls["/orders"] == 2


async def test_fail_open_runs_the_handler_during_the_outage_and_recovers(
    proxied: Proxied, make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(store=proxied.store, on_store_error="fail_open")
    caplog.set_level(logging.DEBUG, LOGGER)
    before = await service.post("/orders", "before", json_body=ORDER)

    cut_off(proxied)
    down = await service.post("/orders", "during", json_body=ORDER)
    assert down.status_code == 201
    assert not is_replay(down)
    assert service.calls["/orders"] == 2
    assert logged(caplog, "fail-open")

    proxied.proxy.heal()
    caplog.clear()
    after = await service.post("/orders", "after", json_body=ORDER)
    duplicate = await service.post("/orders", "after", json_body=ORDER)
    replay = await service.post("/orders", "before", json_body=ORDER)

    assert after.status_code == 201
    assert is_replay(duplicate)
    assert duplicate.content == after.content
    assert is_replay(replay)
    assert replay.content == before.content
    assert service.calls["/orders"] == 3
    assert not logged(caplog, "fail-open")


def test_the_sync_face_fails_closed_during_the_outage_and_recovers(
    proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(chunked_app(calls, [b"made"]), store=proxied.store)
    caplog.set_level(logging.DEBUG, LOGGER)
    assert serve(app, post("before")).code == 201

    cut_off(proxied)
    down = serve(app, post("during"))
    assert_wsgi_problem(down, 503, "store-unavailable")
    assert int(down.header("retry-after")[0]) >= 1
    assert calls["chunked"] == 1
    assert logged(caplog, "store-unavailable")

    proxied.proxy.heal()
    after = serve(app, post("during"))
    duplicate = serve(app, post("during"))
    replay = serve(app, post("before"))
    assert after.code == 201
    assert duplicate.header("idempotent-replayed") == ["true"]
    assert replay.header("idempotent-replayed") == ["true"]
    assert calls["chunked"] == 2


def bound(request: pytest.FixtureRequest) -> float:
    """How long the store of the ``proxied`` fixture may take to give up, by its
    configured timeouts: the SQL stores bound an operation by their sum, Redis sends a
    command twice (one retry), each within both."""
    kind = request.node.callspec.params["proxied"]
    return (1 if kind != "redis" else 2) * sum(TIMEOUTS[kind].values())


async def test_silent_store_answers_503_within_its_bound(
    proxied: Proxied, make_service: MakeService, request: pytest.FixtureRequest
) -> None:
    service = make_service(store=proxied.store)
    assert (await service.post("/orders", "before", json_body=ORDER)).status_code == 201

    proxied.proxy.stall()
    try:
        # Three times the bound, so a slow machine does not fail the test; a store
        # without a bound waits until the proxy heals.
        down = await asyncio.wait_for(
            service.post("/orders", "during", json_body=ORDER), 3 * bound(request)
        )
    finally:
        proxied.proxy.heal()

    assert_problem(down, 503, "store-unavailable")
    assert int(down.headers["retry-after"]) >= 1
    assert service.calls["/orders"] == 1


def test_the_sync_face_of_a_silent_store_answers_503_within_its_bound(
    proxied: Proxied, request: pytest.FixtureRequest
) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(chunked_app(calls, [b"made"]), store=proxied.store)
    assert serve(app, post("before")).code == 201

    proxied.proxy.stall()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(serve, app, post("during"))
        try:
            down = answer.result(timeout=3 * bound(request))
        finally:
            proxied.proxy.heal()

    assert_wsgi_problem(down, 503, "store-unavailable")
    assert int(down.header("retry-after")[0]) >= 1
    assert calls["chunked"] == 1


def post(key: str) -> dict[str, Any]:
    return environ(body=b"{}", headers=[("Idempotency-Key", key)])
