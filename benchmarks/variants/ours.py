"""Our middleware on each store: memory, SQLite, PostgreSQL and Redis.

The stores are built as a user would, with their defaults, except the PostgreSQL
pool, sized to the requests in flight; only the names (table, key prefix) are the run's
own. ``ours/memory-unchecked`` is ``ours/memory`` set to check neither fingerprint nor
scope, as asgi-idempotency-header does not. ``ours/postgres-relaxed`` is
``ours/postgres`` with ``durable=False``, to show what waiting for the WAL flush at each
commit costs; ``ours/postgres-asyncpg`` is ``ours/postgres`` from a
``postgresql+asyncpg://`` URL, its async face on asyncpg. The Redis variant appears once
``idempotency_middleware.stores.redis`` exists.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from benchmarks.app import create_app
from benchmarks.services import Services
from benchmarks.settings import CONCURRENCY
from benchmarks.variants.base import Variant, VariantSpec
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore, Store

__all__ = ["OURS_SPECS"]

_REDIS_MODULE = "idempotency_middleware.stores.redis"


def _variant(store: Store, **options: Any) -> Variant:
    app, calls = create_app()
    app.add_middleware(IdempotencyMiddleware, store=store, **options)

    async def reset() -> None:
        store.clear()

    async def close() -> None:
        await store.aclose()
        store.close()

    return Variant(app, calls, reset, close)


def _builder(make_store: Callable[[Services], Store], **options: Any) -> Callable[[Services], Any]:
    async def build(services: Services) -> Variant:
        return _variant(make_store(services), **options)

    return build


def _one_scope(request: object) -> str:
    return "everyone"


# What asgi-idempotency-header does, set by options: every repeat of a key matches, and
# one key space for every caller.
_UNCHECKED = {"fingerprint": "key-only", "scope": _one_scope}


def _memory(services: Services) -> Store:
    return MemoryStore()


def _sqlite(services: Services) -> Store:
    from idempotency_middleware.stores.sql import SQLAlchemyStore

    return SQLAlchemyStore(services.sqlite_url("ours"))


def _postgres(services: Services, *, durable: bool = True, asyncpg: bool = False) -> Store:
    from idempotency_middleware.stores.sql import SQLAlchemyStore

    # A pool as large as the requests in flight, as docs/performance.md advises: with
    # SQLAlchemy's default of 5, every connection past the fifth is opened and closed
    # again for each statement.
    pool = {"pool_size": max(CONCURRENCY)}
    url = sa.make_url(services.postgres_url)
    if asyncpg:
        url = url.set(drivername="postgresql+asyncpg")
    name = "ours_asyncpg" if asyncpg else "ours" if durable else "ours_relaxed"
    return SQLAlchemyStore(
        url.render_as_string(hide_password=False),
        table_name=services.table(name),
        engine_options=pool,
        durable=durable,
    )


def _postgres_relaxed(services: Services) -> Store:
    return _postgres(services, durable=False)


def _postgres_asyncpg(services: Services) -> Store:
    return _postgres(services, asyncpg=True)


def _asyncpg_missing() -> str | None:
    if importlib.util.find_spec("asyncpg") is None:
        return "the async face on asyncpg needs asyncpg (pip install asyncpg)"
    return None


def _redis(services: Services) -> Store:
    from idempotency_middleware.stores.redis import RedisStore  # type: ignore[import-not-found,unused-ignore]

    store: Store = RedisStore(services.redis_url, prefix=services.prefix("ours"))
    return store


def _redis_missing() -> str | None:
    if importlib.util.find_spec(_REDIS_MODULE) is None:
        return f"{_REDIS_MODULE} does not exist yet"
    return None


OURS_SPECS = (
    VariantSpec("ours/memory", "ours", "memory", _builder(_memory)),
    VariantSpec(
        "ours/memory-unchecked",
        "ours",
        "memory",
        _builder(_memory, **_UNCHECKED),
        caveat="check the request (fingerprint='key-only') or scope the key to its caller "
        "(one scope for all): set so to compare with a peer that does neither",
        lacks="no fingerprint/scope (as set)",
    ),
    VariantSpec("ours/sqlite", "ours", "sqlite", _builder(_sqlite)),
    VariantSpec(
        "ours/postgres", "ours", "postgres", _builder(_postgres), needs=("postgres",), wire=True
    ),
    VariantSpec(
        "ours/postgres-relaxed",
        "ours",
        "postgres",
        _builder(_postgres_relaxed),
        caveat="wait for the WAL flush at commit (durable=False): a PostgreSQL crash can "
        "lose the last few hundred ms of records",
        lacks="no WAL flush wait",
        needs=("postgres",),
        wire=True,
    ),
    VariantSpec(
        "ours/postgres-asyncpg",
        "ours",
        "postgres",
        _builder(_postgres_asyncpg),
        needs=("postgres",),
        wire=True,
        missing=_asyncpg_missing,
    ),
    VariantSpec(
        "ours/redis",
        "ours",
        "redis",
        _builder(_redis),
        needs=("redis",),
        wire=True,
        missing=_redis_missing,
    ),
)
