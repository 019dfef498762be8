"""The fixtures the testing page shows, used as a reader's test suite would use them."""

from __future__ import annotations

import httpx

from idempotency_middleware import ManualClock
from idempotency_middleware.stores import MemoryStore
from integrations.snippets.testing import client, clock, store, unprotected_client

__all__ = ["client", "clock", "store", "unprotected_client"]

KEY = {"Idempotency-Key": "order-1"}


async def test_a_repeat_is_replayed_and_the_handler_runs_once(client: httpx.AsyncClient) -> None:
    first = await client.post("/orders", headers=KEY)
    second = await client.post("/orders", headers=KEY)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"run": 1}
    assert second.headers["idempotent-replayed"] == "true"


async def test_the_manual_clock_moves_past_the_retention(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    await client.post("/orders", headers=KEY)
    clock.advance(86_401)
    again = await client.post("/orders", headers=KEY)
    assert again.json() == {"run": 2}
    assert "idempotent-replayed" not in again.headers


async def test_clearing_the_store_forgets_every_key(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    await client.post("/orders", headers=KEY)
    assert len(store) == 1
    store.clear()
    assert (await client.post("/orders", headers=KEY)).json() == {"run": 2}


async def test_with_no_method_covered_every_request_runs(
    unprotected_client: httpx.AsyncClient,
) -> None:
    runs = [(await unprotected_client.post("/orders", headers=KEY)).json() for _ in range(2)]
    assert runs == [{"run": 1}, {"run": 2}]
