"""A record whose stored response was corrupted in the store is answered 503 (the
``record-undecodable`` outcome) and never replayed, nor run again (SEMANTICS section 7):
whatever a column or field holds, a duplicate never meets a 500 or a broken response."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.redis import RedisStore
from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.asgi.conftest import MakeService, assert_problem
from tests.faults.stores import store_of_kind
from tests.redis.servers import REDIS_URL
from tests.stores.faces import SQL_KINDS

ORDER = {"item": "book"}
NESTED = b"[" * 5_000 + b"]" * 5_000
SQL_GARBAGE = [
    ("status", 99_999),
    ("status", -1),
    ("headers", NESTED),
    ("headers", b'[["x-a\\r\\nset-cookie", "b"]]'),
    ("headers", b'[["x-a", "b\\r\\nset-cookie: c=d"]]'),
    ("headers", b'[["x-a"]]'),
    ("headers", b"{}"),
]
SQLITE_GARBAGE = [("status", "created"), ("body", "text"), ("expires_at", "soon")]
REDIS_GARBAGE = [
    ("st", b"99999"),
    ("st", b"-1"),
    ("h", NESTED),
    ("h", b'[["x-a", "b\\r\\nset-cookie: c=d"]]'),
    ("e", b"1e400"),
]


def cases() -> list[object]:
    sql = [
        pytest.param(kind.values[0], column, value, marks=kind.marks)
        for kind in SQL_KINDS
        for column, value in SQL_GARBAGE
    ]
    sqlite = [pytest.param("sqlite", column, value) for column, value in SQLITE_GARBAGE]
    redis_ = [pytest.param("redis", field, value) for field, value in REDIS_GARBAGE]
    return [*sql, *sqlite, *redis_]


@pytest.fixture
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    kind: str = request.node.callspec.params["kind"]
    with store_of_kind(kind, tmp_path) as built:
        yield built
        await built.aclose()


def corrupt(store: Store, column: str, value: object) -> None:
    """Write ``value`` into ``column`` (a hash field on Redis) of every record."""
    if isinstance(store, RedisStore):
        client = redis.Redis.from_url(REDIS_URL)
        try:
            for name in client.scan_iter(match=store.prefix + "*"):
                client.hset(name, column, value)  # type: ignore[arg-type]
        finally:
            client.close()
        return
    assert isinstance(store, SQLAlchemyStore)
    engine = store._connections.engine
    quoted = engine.dialect.identifier_preparer.quote
    statement = sa.text(f"UPDATE {quoted(store.table.name)} SET {quoted(column)} = :value")
    with engine.begin() as conn:
        conn.execute(statement, {"value": value})


@pytest.mark.parametrize(("kind", "column", "value"), cases())
async def test_duplicate_of_a_corrupted_record_is_answered_503(
    kind: str,
    column: str,
    value: object,
    store: Store,
    make_service: MakeService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    service = make_service(store=store)
    caplog.set_level(logging.DEBUG, "idempotency_middleware")
    first = await service.post("/orders", "key", json_body=ORDER)
    assert first.status_code == 201

    corrupt(store, column, value)
    duplicate = await service.post("/orders", "key", json_body=ORDER)

    assert_problem(duplicate, 503, "store-unavailable")
    assert service.calls["/orders"] == 1
    outcomes = [getattr(r, "idempotency_outcome", None) for r in caplog.records]
    assert "record-undecodable" in outcomes
