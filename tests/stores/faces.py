"""The store kinds under test, and one awaitable interface over both faces of a store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from idempotency_middleware.records import Claim, Record, StoredResponse
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.memory import MemoryStore
from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.redis.servers import redis_store
from tests.support.databases import (
    SERVER_URLS,
    drop_table,
    sql_store,
    sqlite_url,
    unique_table_name,
)
from tests.support.proxy import Proxy

LEASE = 60.0
TTL = 3600.0

SQL_KINDS = [
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]
KINDS = [pytest.param("memory"), *SQL_KINDS, pytest.param("redis")]
CONTRACT_KINDS = [
    *KINDS,
    # PostgreSQL with asyncpg on the async face, where the asyncpg extra is installed.
    pytest.param(
        "asyncpg",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(find_spec("asyncpg") is None, reason="asyncpg is not installed"),
        ],
    ),
]
"""The kinds the store contract suite runs on: every store, and the asyncpg face."""
SELF_EXPIRING = frozenset({"redis", "redis-cluster"})
"""Kinds whose backend drops expired records by itself, leaving ``purge()`` nothing to do."""


def digest(name: str) -> str:
    """A lookup key shaped like the real ones: a 64-character hex digest."""
    return hashlib.sha256(name.encode()).hexdigest()


def purged(kind: str, expired: int) -> int:
    """What ``purge()`` answers on a store of ``kind`` holding ``expired`` expired records."""
    return 0 if kind in SELF_EXPIRING else expired


def database_url(kind: str, directory: Path) -> str:
    """The URL of a SQL store kind; SQLite lives in ``directory``."""
    return sqlite_url(directory) if kind == "sqlite" else SERVER_URLS[kind]


@contextmanager
def fresh_store(kind: str, directory: Path, **options: Any) -> Iterator[Store]:
    """A store of ``kind`` holding no records, on a table or key prefix of its own (SQLite
    in ``directory``), built with ``options``. The caller closes the async face on its
    own loop."""
    if kind == "memory":
        memory = MemoryStore(**options)
        try:
            yield memory
        finally:
            memory.close()
    elif kind == "redis":
        with redis_store(**options) as redis:
            yield redis
    elif kind == "asyncpg":
        with asyncpg_store(**options) as store:
            yield store
    else:
        with sql_store(database_url(kind, directory), **options) as store:
            yield store


@contextmanager
def asyncpg_store(proxy: Proxy | None = None, **options: Any) -> Iterator[SQLAlchemyStore]:
    """A store on a fresh table of PostgreSQL from a ``postgresql+asyncpg://`` URL
    (reached through ``proxy`` if given), dropped afterwards."""
    postgres_url = SERVER_URLS["postgres"]
    asyncpg_url = sa.make_url(postgres_url).set(drivername="postgresql+asyncpg")
    url = asyncpg_url.render_as_string(hide_password=False)
    table_name = unique_table_name()
    store = SQLAlchemyStore(
        url if proxy is None else proxy.url(url), table_name=table_name, **options
    )
    try:
        yield store
    finally:
        store.close()
        drop_table(postgres_url, table_name)


class Face:
    """One face of a store, awaited alike whether it is the sync or the async one."""

    def __init__(self, store: Store, face: str) -> None:
        self.store = store
        self.is_async = face == "async"

    async def claim(
        self, key: str, owner: str, fingerprint: str = "fingerprint", lease: float = LEASE
    ) -> Claim:
        if self.is_async:
            return await self.store.aclaim(key, owner, fingerprint, lease)
        return self.store.claim(key, owner, fingerprint, lease)

    async def complete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float = TTL
    ) -> bool:
        if self.is_async:
            return await self.store.acomplete(key, owner, response, ttl)
        return self.store.complete(key, owner, response, ttl)

    async def renew(self, key: str, owner: str, lease: float = LEASE) -> bool:
        if self.is_async:
            return await self.store.arenew(key, owner, lease)
        return self.store.renew(key, owner, lease)

    async def release(self, key: str, owner: str) -> bool:
        if self.is_async:
            return await self.store.arelease(key, owner)
        return self.store.release(key, owner)

    async def get(self, key: str) -> Record | None:
        if self.is_async:
            return await self.store.aget(key)
        return self.store.get(key)


async def fresh_and_replay(
    face: Face, proxy: Proxy, key: str, response: StoredResponse, *, warm_up: int = 0
) -> tuple[int, Claim, int]:
    """The round trips through ``proxy`` of a fresh request on ``key`` (claim and
    complete), then the claim of a replay and its round trips; after ``warm_up`` such
    requests on other keys, where connecting or preparing statements costs extra round
    trips once per connection."""
    for number in range(warm_up):
        await face.claim(digest(f"warm-up-{number}"), "owner-a")
        await face.complete(digest(f"warm-up-{number}"), "owner-a", response)
        await face.claim(digest(f"warm-up-{number}"), "owner-b")
    proxy.reset()
    await face.claim(key, "owner-a")
    await face.complete(key, "owner-a", response)
    fresh = proxy.round_trips
    proxy.reset()
    replay = await face.claim(key, "owner-b")
    return fresh, replay, proxy.round_trips
