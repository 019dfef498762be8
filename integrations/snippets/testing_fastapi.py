"""A FastAPI app's tests with the plugin's fixtures; ``tests/testing/test_documented_suites.py``
runs them as they are."""

from __future__ import annotations

# [start:fastapi]
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore, Store
from idempotency_middleware.testing import IdempotentClient, assert_runs_once_async


def create_app(store: Store) -> FastAPI:
    """Your app factory, given the store."""
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=store)
    app.state.orders = 0

    @app.post("/orders", status_code=201)
    async def place_order() -> dict[str, int]:
        app.state.orders += 1
        return {"order": app.state.orders}

    return app


@pytest.fixture
def app(idempotency_store: MemoryStore) -> FastAPI:
    return create_app(idempotency_store)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_a_retry_is_replayed(idempotent_client: IdempotentClient[httpx.AsyncClient]) -> None:
    first = await idempotent_client.post("/orders")
    retry = await idempotent_client.resend()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()


async def test_duplicates_sent_together_place_one_order(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await assert_runs_once_async(
        lambda key: client.post("/orders", headers={"Idempotency-Key": key}),
        times=10,
        runs=lambda: int(app.state.orders),
    )


# [end:fastapi]
