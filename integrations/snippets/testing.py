"""Fixtures for the tests of an app that uses the middleware: a fresh store per test.

The ``conftest`` block is a whole ``conftest.py`` (its fixtures are async: pytest-asyncio
runs them); ``tests/docs/test_testing.py`` uses them as they are.
"""

from __future__ import annotations

# [start:conftest]
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from idempotency_middleware import ManualClock
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore, Store


def create_app(store: Store, **idempotency: Any) -> FastAPI:
    """Your app factory, given the store (and any other option of the middleware)."""
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=store, **idempotency)
    app.state.runs = 0

    @app.post("/orders", status_code=201)
    async def place_order() -> dict[str, int]:
        app.state.runs += 1
        return {"run": app.state.runs}

    return app


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


# [end:conftest]


@pytest.fixture
async def unprotected_client() -> AsyncIterator[httpx.AsyncClient]:
    """The app of :func:`unprotected_app`, with the route of :func:`create_app`."""
    app = unprotected_app()
    app.state.runs = 0

    @app.post("/orders", status_code=201)
    async def place_order() -> dict[str, int]:
        app.state.runs += 1
        return {"run": app.state.runs}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def unprotected_app() -> FastAPI:
    """No method covered: every request runs, keys or not."""
    # [start:off]
    from fastapi import FastAPI

    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.stores import MemoryStore

    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=MemoryStore(), methods=[])
    # [end:off]
    return app


__all__ = ["client", "clock", "create_app", "store", "unprotected_app", "unprotected_client"]
