"""Fixtures for the tests of an app that uses the middleware: a fresh store per test.

Put them in a ``conftest.py`` (they are async: pytest-asyncio runs them);
``tests/docs/test_testing.py`` uses them as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from idempotency_middleware import ManualClock
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore, Store

__all__ = ["client", "clock", "create_app", "store", "unprotected_client"]


# [start:factory]
def create_app(store: Store, **idempotency: Any) -> FastAPI:
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=store, **idempotency)
    # [end:factory]
    app.state.runs = 0

    @app.post("/orders", status_code=201)
    async def place_order() -> dict[str, int]:
        app.state.runs += 1
        return {"run": app.state.runs}

    return app


# [start:fixtures]
@pytest.fixture
def clock() -> ManualClock:
    """Time that moves only when a test says so: ``clock.advance(86_400)``."""
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> Iterator[MemoryStore]:
    store = MemoryStore(clock=clock)
    yield store
    store.clear()


@pytest.fixture
async def client(store: MemoryStore) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


# [end:fixtures]


# [start:off]
@pytest.fixture
async def unprotected_client() -> AsyncIterator[httpx.AsyncClient]:
    """No method covered: every request runs, keys or not."""
    transport = httpx.ASGITransport(app=create_app(MemoryStore(), methods=[]))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


# [end:off]
