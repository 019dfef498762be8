"""``idemkit`` (PyPI), on its memory, Redis and PostgreSQL backends.

Configured as its README shows, with ``scope_mode="single_tenant"`` only to silence its
start-up warning. Read from its installed source (``idemkit/adapters/asgi.py``):

- the ASGI middleware never renews a lease: a handler slower than the lease (30 s)
  lets a duplicate run alongside it;
- without a ``scope`` function all callers share one key space (ours scopes keys to
  the user or the ``Authorization`` header by default);
- it reads the whole body of every request, GETs without a key included, and answers
  ``http.disconnect`` to the app right after the body;
- its in-memory backend scans every record on each claim (emptied before each
  measurement here) and refuses new keys past ``max_size`` (raised here);
- on PostgreSQL it completes in a transaction with a ``pg_notify``, and asyncpg resets
  each pooled connection it hands back: the round-trip column shows the cost.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.app import create_app
from benchmarks.services import Services, delete_redis_keys, delete_rows
from benchmarks.variants.base import Variant, VariantSpec

__all__ = ["IDEMKIT_SPECS"]

_CAVEAT = (
    "no lease renewal (a handler slower than the 30 s lease lets a duplicate run), "
    "one shared key space unless scope= is given, reads every request's body"
)

_LACKS = "no lease renewal; unscoped by default"


def _missing() -> str | None:
    if importlib.util.find_spec("idemkit") is None:
        return "idemkit is not installed (pip install idemkit)"
    return None


def _postgres_missing() -> str | None:
    if importlib.util.find_spec("asyncpg") is None:
        return "idemkit's PostgreSQL backend needs asyncpg (pip install asyncpg)"
    return _missing()


def _app(backend: Any) -> tuple[Any, Any]:
    from idemkit import HttpConfig, IdempotencyMiddleware

    app, calls = create_app()
    config = HttpConfig(scope_mode="single_tenant")
    app.add_middleware(IdempotencyMiddleware, backend=backend, config=config)
    return app, calls


async def _memory(services: Services) -> Variant:
    from idemkit import InMemoryBackend

    backend = InMemoryBackend(max_size=10_000_000)
    app, calls = _app(backend)

    async def reset() -> None:
        backend._records.clear()  # no public way to empty it

    return Variant(app, calls, reset)


async def _redis(services: Services) -> Variant:
    from idemkit.backends.redis import RedisBackend
    from redis.asyncio import Redis

    prefix = services.prefix("idemkit")
    backend = RedisBackend(Redis.from_url(services.redis_url), namespace=prefix.rstrip(":"))
    app, calls = _app(backend)

    async def reset() -> None:
        delete_redis_keys(services.redis_url, prefix)

    return Variant(app, calls, reset, backend.aclose)


async def _postgres(services: Services) -> Variant:
    from idemkit.backends.postgres import PostgresBackend, init_pg

    table = services.table("idemkit")
    await init_pg(services.asyncpg_url, table=table)
    backend = PostgresBackend.from_url(services.asyncpg_url, table=table)
    app, calls = _app(backend)

    async def reset() -> None:
        delete_rows(services.postgres_url, table)

    return Variant(app, calls, reset, backend.aclose)


IDEMKIT_SPECS = (
    VariantSpec(
        "idemkit/memory",
        "idemkit",
        "memory",
        _memory,
        caveat=_CAVEAT + "; its memory backend scans every record on each claim",
        lacks=_LACKS,
        missing=_missing,
    ),
    VariantSpec(
        "idemkit/redis",
        "idemkit",
        "redis",
        _redis,
        caveat=_CAVEAT,
        needs=("redis",),
        wire=True,
        lacks=_LACKS,
        missing=_missing,
    ),
    VariantSpec(
        "idemkit/postgres",
        "idemkit",
        "postgres",
        _postgres,
        caveat=_CAVEAT,
        needs=("postgres",),
        wire=True,
        lacks=_LACKS,
        missing=_postgres_missing,
    ),
)
