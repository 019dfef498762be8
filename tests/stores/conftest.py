"""Fixtures: a store of every kind, empty, through each of its two faces."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.stores.base import Store
from tests.stores.faces import CONTRACT_KINDS, Face, fresh_store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=CONTRACT_KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def sync_store(kind: str, clock: ManualClock, tmp_path: Path) -> Iterator[Store]:
    """A store of ``kind`` holding no records, on a table or key prefix of its own."""
    with fresh_store(kind, tmp_path, clock=clock) as store:
        yield store


@pytest.fixture(params=["sync", "async"])
async def face(sync_store: Store, request: pytest.FixtureRequest) -> AsyncIterator[Face]:
    """``sync_store`` through one face; the async face is closed on the test's loop."""
    yield Face(sync_store, request.param)
    await sync_store.aclose()
