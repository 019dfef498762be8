"""A flood of distinct keys against the MemoryStore, through the ASGI middleware
(SEMANTICS section 5 and the memory store's bounds): the store never grows past its
bound, and a claim in progress is never evicted to make room."""

from __future__ import annotations

import asyncio

from idempotency_middleware.records import RecordState
from idempotency_middleware.stores import MemoryStore
from tests.asgi.conftest import MakeService, Service, assert_problem

BOUND = 20
FLOOD = 10 * BOUND


async def hold_claims(service: Service, count: int) -> list[asyncio.Task[object]]:
    """``count`` requests on distinct keys, each held in its handler until the gate opens."""
    tasks: list[asyncio.Task[object]] = []
    for number in range(count):
        service.handlers.entered.clear()
        tasks.append(asyncio.create_task(service.post("/slow", f"held-{number}", json_body={})))
        await asyncio.wait_for(service.handlers.entered.wait(), 10)
    return tasks


async def test_a_flood_of_distinct_keys_stays_within_the_bound(make_service: MakeService) -> None:
    store = MemoryStore(max_records=BOUND)
    service = make_service(store=store)
    held = await hold_claims(service, BOUND // 2)

    for number in range(FLOOD):
        response = await service.post("/orders", f"flood-{number}", json_body={})
        assert response.status_code == 201
        assert len(store) <= BOUND

    for number in range(BOUND // 2):
        record = await service.record(f"held-{number}")
        assert record is not None
        assert record.state is RecordState.IN_PROGRESS
        duplicate = await service.post("/slow", f"held-{number}", json_body={})
        assert_problem(duplicate, 409, "request-in-progress")
    service.handlers.gate.set()
    await asyncio.gather(*held)
    assert service.calls["slow"] == BOUND // 2
    latest = await service.post("/orders", f"flood-{FLOOD - 1}", json_body={})
    assert latest.headers["idempotent-replayed"] == "true"


async def test_a_store_full_of_claims_in_progress_answers_503(make_service: MakeService) -> None:
    store = MemoryStore(max_records=BOUND)
    service = make_service(store=store)
    held = await hold_claims(service, BOUND)
    try:
        overflow = await service.post("/orders", "one-too-many", json_body={})
        assert len(store) <= BOUND
        assert_problem(overflow, 503, "store-unavailable")
        assert service.calls["/orders"] == 0
    finally:
        service.handlers.gate.set()
        await asyncio.gather(*held)
