"""Stores of every kind for the fault tests, reached through the loopback proxy when the
kind has a server to cut off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.memory import MemoryStore
from idempotency_middleware.stores.redis import RedisStore
from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.redis.servers import REDIS_URL, redis_store, unique_prefix
from tests.stores.faces import KINDS
from tests.support.databases import SERVER_URLS, address, sql_store, sqlite_url, unique_table_name
from tests.support.proxy import Proxy

__all__ = [
    "NETWORKED",
    "STORE_KINDS",
    "TIMEOUTS",
    "Proxied",
    "proxied_store",
    "store_of_kind",
    "store_url",
]

NETWORKED = [kind for kind in KINDS if kind.values[0] not in ("memory", "sqlite")]
"""The kinds that live on a server the proxy can cut off."""

STORE_KINDS = KINDS

TIMEOUTS: dict[str, dict[str, float]] = {
    "postgres": {"connect_timeout": 1.0, "statement_timeout": 2.0},
    "mariadb": {"connect_timeout": 1.0, "statement_timeout": 2.0},
    "redis": {"connect_timeout": 0.5, "socket_timeout": 1.0},
}
"""Short store timeouts, so a store that went away answers 503 quickly."""


def store_url(kind: str, directory: Path) -> str:
    """The URL of the real server (or SQLite file) of a store kind."""
    if kind == "redis":
        return REDIS_URL
    return sqlite_url(directory) if kind == "sqlite" else SERVER_URLS[kind]


@contextmanager
def store_of_kind(kind: str, directory: Path, **options: Any) -> Iterator[Store]:
    """An empty store of ``kind``, on a table or key prefix of its own, deleted
    afterwards. The caller closes the async face on its own loop."""
    if kind == "memory":
        yield MemoryStore(**options)
        return
    options = {**TIMEOUTS.get(kind, {}), **options}
    if kind == "redis":
        with redis_store(**options) as redis:
            yield redis
        return
    with sql_store(store_url(kind, directory), **options) as store:
        yield store


@dataclass(frozen=True)
class Proxied:
    """A store reached through ``proxy``, and ``direct``: the same records reached
    without it, to see what the store holds while the proxy is broken."""

    store: Store
    direct: Store
    proxy: Proxy


@asynccontextmanager
async def proxied_store(kind: str, **options: Any) -> AsyncIterator[Proxied]:
    """An empty store of a networked ``kind`` behind a fresh proxy; both faces of both
    stores are closed afterwards, on the caller's loop."""
    url = store_url(kind, Path())
    options = {**TIMEOUTS[kind], **options}
    with Proxy(*address(url)) as proxy:
        if kind == "redis":
            prefix = unique_prefix()
            with redis_store(proxy.url(url), home=url, prefix=prefix, **options) as store:
                direct: Store = RedisStore(url, prefix=prefix)
                try:
                    yield Proxied(store, direct, proxy)
                finally:
                    await close(store, direct)
            return
        table = unique_table_name()
        with sql_store(url, proxy=proxy, table_name=table, **options) as store:
            direct = SQLAlchemyStore(url, table_name=table, create_table=False)
            try:
                yield Proxied(store, direct, proxy)
            finally:
                await close(store, direct)


async def close(*stores: Store) -> None:
    for store in stores:
        await store.aclose()
        store.close()
