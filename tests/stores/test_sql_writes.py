"""On PostgreSQL a claim that finds a record standing reads it without writing: a replay
costs no WAL record, no transaction id and no commit waiting for the WAL flush."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from idempotency_middleware.records import RecordState, StoredResponse
from idempotency_middleware.stores.codec import FORMAT_VERSION
from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.stores.faces import LEASE, Face, digest
from tests.support.databases import SERVER_URLS, sql_store

KEY = digest("key")
RESPONSE = StoredResponse(201, ((b"content-type", b"text/plain"),), b"created")


@contextmanager
def row_version(store: SQLAlchemyStore, url: str) -> Iterator[Callable[[], object]]:
    """The record's xmin and xmax, which an update or a row lock changes."""
    engine = sa.create_engine(url)
    query = sa.text(f"SELECT xmin::text, xmax::text FROM {store.table.name} WHERE key = :key")
    try:
        with engine.connect() as conn:

            def version() -> object:
                value = conn.execute(query, {"key": KEY}).all()
                conn.rollback()
                return value

            yield version
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("face_name", ["sync", "async"])
async def test_claims_of_a_standing_record_write_nothing(face_name: str) -> None:
    url = SERVER_URLS["postgres"]
    with sql_store(url) as store, row_version(store, url) as version:
        face = Face(store, face_name)
        try:
            assert (await face.claim(KEY, "owner-a")).claimed
            before = version()
            in_progress = await face.claim(KEY, "owner-b")
            after_in_progress = version()
            assert await face.complete(KEY, "owner-a", RESPONSE)
            completed = version()
            replays = [await face.claim(KEY, f"owner-{n}") for n in range(3)]
            after_replays = version()
        finally:
            await store.aclose()

    assert not in_progress.claimed
    assert [replay.record.response for replay in replays if replay.record] == [RESPONSE] * 3
    assert after_in_progress == before
    assert after_replays == completed


@pytest.mark.postgres
def test_claim_that_meets_a_row_committed_after_it_began_returns_that_row() -> None:
    # The claim's read runs on the snapshot its statement began with; a row another
    # claim commits while this one waits on it is the record that stands.
    url = SERVER_URLS["postgres"]
    with sql_store(url) as store:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as rival, ThreadPoolExecutor(1) as pool:
                rival.execute(
                    store.table.insert().values(
                        key=KEY,
                        state=RecordState.IN_PROGRESS.value,
                        owner="owner-a",
                        fingerprint="fingerprint-a",
                        expires_at=time.time() + LEASE,
                        replayable=False,
                        format_version=FORMAT_VERSION,
                        created_at=time.time(),
                    )
                )
                claim = pool.submit(store.claim, KEY, "owner-b", "fingerprint-b", LEASE)
                _wait_until_blocked(engine, rival)
                rival.commit()
                outcome = claim.result()
        finally:
            engine.dispose()

    assert not outcome.claimed
    assert outcome.record is not None
    assert (outcome.record.owner, outcome.record.fingerprint) == ("owner-a", "fingerprint-a")


def _wait_until_blocked(engine: sa.Engine, holder: sa.Connection) -> None:
    """Until a session waits for a lock that ``holder``'s transaction holds."""
    pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    with engine.connect() as conn:
        while not conn.execute(query, {"pid": pid}).scalar_one():
            conn.rollback()
            time.sleep(0.01)
