"""The store goes away mid-run and comes back (SEMANTICS section 7): fail closed answers
503 and never runs the handler, fail open runs it and logs an error, and once the store
is back the same middleware works on, without a restart.

The store is cut off by the loopback proxy: open connections dropped, new ones refused.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from idempotency_middleware.wsgi import IdempotencyMiddleware
from tests.asgi.conftest import MakeService, assert_problem
from tests.faults.stores import NETWORKED, Proxied, proxied_store
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


def replayed(response: httpx.Response) -> bool:
    return bool(response.headers.get("idempotent-replayed") == "true")


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
        assert_problem(response, 503, "store-unavailable", retryable=True)
        assert int(response.headers["retry-after"]) >= 1
    assert service.calls["/orders"] == 1
    assert logged(caplog, "store-unavailable")

    proxied.proxy.heal()
    after = await service.post("/orders", "during", json_body=ORDER)
    duplicate = await service.post("/orders", "during", json_body=ORDER)
    replay = await service.post("/orders", "before", json_body=ORDER)

    assert after.status_code == 201
    assert not replayed(after)
    assert replayed(duplicate)
    assert duplicate.content == after.content
    assert replayed(replay)
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
    assert not replayed(down)
    assert service.calls["/orders"] == 2
    assert logged(caplog, "fail-open")

    proxied.proxy.heal()
    caplog.clear()
    after = await service.post("/orders", "after", json_body=ORDER)
    duplicate = await service.post("/orders", "after", json_body=ORDER)
    replay = await service.post("/orders", "before", json_body=ORDER)

    assert after.status_code == 201
    assert replayed(duplicate)
    assert duplicate.content == after.content
    assert replayed(replay)
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


def post(key: str) -> dict[str, Any]:
    return environ(body=b"{}", headers=[("Idempotency-Key", key)])
