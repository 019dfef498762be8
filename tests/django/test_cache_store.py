"""The cache store: the store contract on Django's local-memory and Redis caches."""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from idempotency_middleware import ManualClock
from idempotency_middleware.django import CacheStore
from idempotency_middleware.records import Claim
from idempotency_middleware.stores.base import Store
from tests.django.contract import contract_tests
from tests.stores.faces import Face, digest

# A cache drops expired entries by itself and cannot list its keys: purge() has nothing
# to count (the contract's purge tests are replaced below).
globals().update(
    contract_tests(
        without=frozenset(
            {
                "test_purge_deletes_expired_records_and_counts_them",
                "test_purge_deletes_more_than_one_batch",
            }
        )
    )
)


@pytest.fixture(params=["default", "redis"])
def kind(request: pytest.FixtureRequest) -> str:
    alias: str = request.param
    return alias


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sync_store(kind: str, clock: ManualClock) -> Iterator[Store]:
    """A cache store on cache ``kind``, under a key prefix of its own."""
    store = CacheStore(kind, prefix=f"idem-{secrets.token_hex(6)}:", clock=clock)
    yield store
    store.clear()


@pytest.fixture(params=["sync", "async"])
async def face(sync_store: Store, request: pytest.FixtureRequest) -> AsyncIterator[Face]:
    yield Face(sync_store, request.param)
    await sync_store.aclose()


async def test_expired_records_read_as_gone_and_purge_has_nothing_to_do(
    face: Face, clock: ManualClock
) -> None:
    await face.claim(digest("lease"), "owner-a", lease=10.0)
    await face.claim(digest("live"), "owner-a", lease=100.0)
    clock.advance(11)

    assert face.store.purge() == 0
    assert await face.get(digest("lease")) is None
    assert await face.get(digest("live")) is not None


def test_an_expired_record_is_taken_over_by_one_of_sixteen_threads(
    sync_store: Store, clock: ManualClock
) -> None:
    # Still cached (the cache's own timeouts run on the real clock), expired on the
    # store's clock: the takeover is a race the add of a marker settles.
    key = digest("key")
    sync_store.claim(key, "owner-a", "fingerprint", 10.0)
    clock.advance(11)
    start = threading.Barrier(16)

    def claim_at_once(number: int) -> Claim:
        start.wait(timeout=30)
        return sync_store.claim(key, f"owner-{number}", "fingerprint", 10.0)

    with ThreadPoolExecutor(16) as pool:
        claims = list(pool.map(claim_at_once, range(16)))

    winners = [number for number, claim in enumerate(claims) if claim.claimed]
    assert len(winners) == 1
    record = sync_store.get(key)
    assert record is not None
    assert record.owner == f"owner-{winners[0]}"
