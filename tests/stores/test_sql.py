"""What only the SQL store promises: real processes, round trips, faults, decoding."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.errors import ConfigurationError, RecordDecodeError, StoreError
from idempotency_middleware.records import RecordState, StoredResponse
from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.stores.faces import (
    LEASE,
    SQL_KINDS,
    TTL,
    Face,
    database_url,
    digest,
    fresh_and_replay,
)
from tests.stores.sessions import synchronous_commit_seen
from tests.support.databases import (
    MARIADB_URL,
    SERVER_URLS,
    address,
    claim_in_process,
    create_in_process,
    drop_table,
    sql_store,
    unique_table_name,
)
from tests.support.processes import run_processes
from tests.support.proxy import Proxy

KEY = digest("key")
RESPONSE = StoredResponse(201, ((b"content-type", b"text/plain"),), b"created")
SERVER_KINDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]
FACES = ["sync", "async"]


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_one_of_sixteen_processes_claims_a_key(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    with sql_store(url) as store:
        outcomes = run_processes(
            claim_in_process,
            [(url, store.table.name, KEY, f"owner-{number}") for number in range(16)],
        )
        record = store.get(KEY)

    assert sorted(outcomes) == ["claimed"] + ["refused"] * 15
    assert record is not None
    assert record.state is RecordState.IN_PROGRESS


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_workers_creating_the_table_at_once_all_succeed(kind: str, tmp_path: Path) -> None:
    url = database_url(kind, tmp_path)
    table_name = unique_table_name()
    try:
        outcomes = run_processes(create_in_process, [(url, table_name)] * 8)
        with sql_store(url, table_name=table_name, create_table=False) as store:
            assert (store.claim(KEY, "owner-a", "fingerprint", LEASE)).claimed
    finally:
        drop_table(url, table_name)

    assert outcomes == ["ok"] * 8


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize(
    ("kind", "options"),
    [
        pytest.param("postgres", {}, marks=pytest.mark.postgres, id="postgres"),
        pytest.param(
            "postgres", {"durable": False}, marks=pytest.mark.postgres, id="postgres-relaxed"
        ),
        pytest.param("mariadb", {}, marks=pytest.mark.mariadb, id="mariadb"),
    ],
)
async def test_fresh_request_costs_two_round_trips_and_replay_one(
    kind: str, options: dict[str, Any], face_name: str
) -> None:
    url = SERVER_URLS[kind]
    with Proxy(*address(url)) as proxy, sql_store(url, proxy=proxy, **options) as store:
        face = Face(store, face_name)
        try:
            # psycopg prepares a statement on its sixth run.
            fresh, replay, replayed = await fresh_and_replay(face, proxy, KEY, RESPONSE, warm_up=6)
        finally:
            await store.aclose()

    assert replay.record is not None
    assert replay.record.response == RESPONSE
    assert (fresh, replayed) == (2, 1)


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_connection_the_server_dropped_is_replaced_unnoticed(
    kind: str, face_name: str
) -> None:
    url = SERVER_URLS[kind]
    with Proxy(*address(url)) as proxy, sql_store(url, proxy=proxy) as store:
        face = Face(store, face_name)
        try:
            await face.claim(KEY, "owner-a")
            proxy.drop()

            assert (await face.claim(KEY, "owner-a")).claimed
            assert await face.complete(KEY, "owner-a", RESPONSE)
        finally:
            await store.aclose()


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_unreachable_server_raises_store_error_promptly(kind: str, face_name: str) -> None:
    url = SERVER_URLS[kind]
    with Proxy(*address(url)) as proxy, sql_store(url, proxy=proxy) as store:
        face = Face(store, face_name)
        try:
            await face.get(KEY)
            proxy.drop()
            proxy.refuse()
            started = time.monotonic()

            with pytest.raises(StoreError):
                await face.claim(KEY, "owner-a")

            assert time.monotonic() - started < 2
        finally:
            proxy.heal()
            await store.aclose()


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize("kind", SERVER_KINDS)
async def test_server_that_stops_answering_raises_store_error_in_bounded_time(
    kind: str, face_name: str
) -> None:
    url = SERVER_URLS[kind]
    with (
        Proxy(*address(url)) as proxy,
        sql_store(url, proxy=proxy, connect_timeout=1.0, statement_timeout=1.0) as store,
    ):
        face = Face(store, face_name)
        try:
            await face.get(KEY)
            proxy.stall()
            started = time.monotonic()

            with pytest.raises(StoreError):
                await face.claim(KEY, "owner-a")

            assert time.monotonic() - started < 4
        finally:
            proxy.heal()
            await store.aclose()


@pytest.mark.mariadb
def test_claim_reads_the_record_back_where_insert_has_no_returning(
    clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MySQL's path, on MariaDB told that INSERT ... RETURNING does not exist.
    engine = sa.create_engine(MARIADB_URL)
    table_name = unique_table_name()
    store = SQLAlchemyStore(engine, table_name=table_name, clock=clock)
    monkeypatch.setattr(engine.dialect, "insert_returning", False)
    try:
        assert store.claim(KEY, "owner-a", "fingerprint-a", LEASE).claimed
        assert store.claim(KEY, "owner-a", "fingerprint-a", LEASE).claimed
        contested = store.claim(KEY, "owner-b", "fingerprint-b", LEASE)
        assert not contested.claimed
        assert contested.record is not None
        assert (contested.record.owner, contested.record.fingerprint) == (
            "owner-a",
            "fingerprint-a",
        )
        assert store.complete(KEY, "owner-a", RESPONSE, TTL)
        replay = store.claim(KEY, "owner-b", "fingerprint-b", LEASE)
        assert replay.record is not None
        assert replay.record.response == RESPONSE
        clock.advance(TTL + 1)
        assert store.claim(KEY, "owner-b", "fingerprint-b", LEASE).claimed
    finally:
        store.close()
        engine.dispose()
        drop_table(MARIADB_URL, table_name)


@pytest.mark.parametrize(
    ("column", "value"),
    [("state", "lost"), ("format_version", 99), ("headers", b"not json")],
)
@pytest.mark.parametrize("kind", SQL_KINDS)
def test_undecodable_record_raises_record_decode_error(
    kind: str, column: str, value: object, tmp_path: Path
) -> None:
    url = database_url(kind, tmp_path)
    with sql_store(url) as store:
        store.claim(KEY, "owner-a", "fingerprint", LEASE)
        store.complete(KEY, "owner-a", RESPONSE, TTL)
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(store.table.update().values({column: value}))
        finally:
            engine.dispose()

        with pytest.raises(RecordDecodeError):
            store.get(KEY)
        with pytest.raises(RecordDecodeError):
            store.claim(KEY, "owner-b", "fingerprint", LEASE)


async def test_in_memory_sqlite_serves_both_faces() -> None:
    store = SQLAlchemyStore("sqlite:///:memory:")
    try:
        assert store.claim(KEY, "owner-a", "fingerprint", LEASE).claimed
        assert not (await store.aclaim(KEY, "owner-b", "fingerprint", LEASE)).claimed
        assert await store.acomplete(KEY, "owner-a", RESPONSE, TTL)
        record = store.get(KEY)
        assert record is not None
        assert record.response == RESPONSE
    finally:
        await store.aclose()
        store.close()


@pytest.mark.postgres
async def test_store_on_an_engine_of_the_application_serves_both_faces() -> None:
    engine = sa.create_engine(SERVER_URLS["postgres"])
    table_name = unique_table_name()
    store = SQLAlchemyStore(engine, table_name=table_name)
    try:
        assert store.claim(KEY, "owner-a", "fingerprint", LEASE).claimed
        assert await store.acomplete(KEY, "owner-a", RESPONSE, TTL)
        record = store.get(KEY)
        assert record is not None
        assert record.response == RESPONSE
    finally:
        await store.aclose()
        store.close()
        engine.dispose()
        drop_table(SERVER_URLS["postgres"], table_name)


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize("kind", SQL_KINDS)
async def test_sql_logging_sees_every_statement(
    kind: str, face_name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sql_store(database_url(kind, tmp_path), engine_options={"echo": True}) as store:
        face = Face(store, face_name)
        try:
            with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
                caplog.clear()
                await face.claim(KEY, "owner-a")
                await face.complete(KEY, "owner-a", RESPONSE)
        finally:
            await store.aclose()

    logged = [record.getMessage() for record in caplog.records]
    assert any(store.table.name in line and "INSERT" in line for line in logged)
    assert any(store.table.name in line and "UPDATE" in line for line in logged)


@pytest.mark.postgres
def test_statement_events_of_an_engine_of_the_application_see_every_statement() -> None:
    engine = sa.create_engine(SERVER_URLS["postgres"])
    seen: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def trace(*args: Any) -> None:
        seen.append(args[2])

    table_name = unique_table_name()
    store = SQLAlchemyStore(engine, table_name=table_name)
    try:
        seen.clear()
        assert store.claim(KEY, "owner-a", "fingerprint", LEASE).claimed
        assert store.complete(KEY, "owner-a", RESPONSE, TTL)
    finally:
        store.close()
        engine.dispose()
        drop_table(SERVER_URLS["postgres"], table_name)

    assert [statement.split()[0] for statement in seen] == ["WITH", "UPDATE"]


def test_unsupported_database_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SQLAlchemyStore"):
        SQLAlchemyStore("oracle+nosuchdriver://scott@localhost/db")


@pytest.mark.postgres
@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize(("options", "expected"), [({}, "on"), ({"durable": False}, "off")])
async def test_relaxed_durability_turns_synchronous_commit_off(
    face_name: str, options: dict[str, Any], expected: str
) -> None:
    with sql_store(SERVER_URLS["postgres"], **options) as store:
        face = Face(store, face_name)
        try:
            with synchronous_commit_seen() as seen:
                await face.claim(KEY, "owner-a")
                await face.complete(KEY, "owner-a", RESPONSE)
                replay = await face.claim(KEY, "owner-b")
        finally:
            await store.aclose()

    assert replay.record is not None
    assert replay.record.response == RESPONSE
    assert seen == [expected] * 3


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        pytest.param(
            SERVER_URLS["postgres"], {"durable": "false"}, "True or False", id="not-a-bool"
        ),
        pytest.param("sqlite:///:memory:", {"durable": False}, "psycopg", id="sqlite"),
        pytest.param(MARIADB_URL, {"durable": False}, "psycopg", id="mariadb"),
    ],
)
def test_relaxed_durability_where_it_means_nothing_is_a_configuration_error(
    url: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SQLAlchemyStore(url, **options)


@pytest.mark.postgres
def test_relaxed_durability_on_an_engine_of_the_application_is_a_configuration_error() -> None:
    engine = sa.create_engine(SERVER_URLS["postgres"])
    try:
        with pytest.raises(ConfigurationError, match="engine you pass"):
            SQLAlchemyStore(engine, durable=False)
    finally:
        engine.dispose()
