"""PostgreSQL through asyncpg on the async face: a ``postgresql+asyncpg://`` URL."""

from __future__ import annotations

from typing import Any

import pytest

from idempotency_middleware.records import StoredResponse
from tests.stores.faces import Face, asyncpg_store, digest, fresh_and_replay
from tests.stores.sessions import synchronous_commit_seen
from tests.support.databases import POSTGRES_URL, address
from tests.support.proxy import Proxy

pytest.importorskip("asyncpg", reason="the asyncpg extra is not installed")
pytestmark = pytest.mark.postgres

KEY = digest("key")
RESPONSE = StoredResponse(201, ((b"content-type", b"text/plain"),), b"created")


async def test_asyncpg_url_runs_the_async_face_on_asyncpg_at_one_round_trip_each() -> None:
    with Proxy(*address(POSTGRES_URL)) as proxy, asyncpg_store(proxy) as store:
        face = Face(store, "async")
        try:
            # asyncpg prepares each statement on its first run on a connection.
            fresh, replay, replayed = await fresh_and_replay(face, proxy, KEY, RESPONSE, warm_up=3)
            engine = store._connections._async_engine()
        finally:
            await store.aclose()
        # The sync face shares the table, through psycopg.
        sync_replay = store.claim(KEY, "owner-c", "fingerprint", 60.0)

    assert engine.dialect.driver == "asyncpg"
    assert (fresh, replayed) == (2, 1)
    assert replay.record is not None
    assert replay.record.response == RESPONSE
    assert sync_replay.record is not None
    assert sync_replay.record.response == RESPONSE


@pytest.mark.parametrize(("options", "expected"), [({}, "on"), ({"durable": False}, "off")])
async def test_relaxed_durability_reaches_asyncpg_sessions(
    options: dict[str, Any], expected: str
) -> None:
    with asyncpg_store(**options) as store:
        face = Face(store, "async")
        try:
            with synchronous_commit_seen() as seen:
                await face.claim(KEY, "owner-a")
                await face.complete(KEY, "owner-a", RESPONSE)
        finally:
            await store.aclose()

    assert seen == [expected] * 2
