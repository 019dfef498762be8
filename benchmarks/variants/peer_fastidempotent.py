"""``fastidempotent`` (PyPI), on its memory, Redis and PostgreSQL backends.

Configured as its README shows (``ttl=3600``, ``methods=["POST", "PUT", "PATCH"]``), the
Redis and PostgreSQL backends started with ``await backend.init()`` as its docstrings
ask, and the PostgreSQL pool sized to the 16 requests in flight (``pool_size=16``), as
ours is. Read from its installed source (``fastidempotent/middleware.py`` and
``backends/``) and checked in process against the benchmark's kind of app:

- check, then claim: it reads the record, then takes a lock kept apart from it (on
  Redis a ``GET`` of one key, then ``SET NX`` of another). A duplicate that reads before
  the first request completes and claims after it runs the handler a second time: on
  Redis, one duplicate in 80 sent 0 to 20 ms after a 10 ms request ran twice. Its
  memory backend never suspends between the two steps, and on PostgreSQL the claim's
  ``INSERT ... ON CONFLICT DO NOTHING`` meets the completed row and answers 409;
- no lease renewal: the lock expires after ``lock_timeout`` (30 s), so a handler slower
  than that lets a duplicate run beside it (with ``lock_timeout=1`` and a 1.5 s
  handler, a duplicate sent at 1.2 s ran); a request cancelled mid-handler leaves its
  key answering 409 until then;
- the key is scoped to method and path, not to the caller: another caller sending the
  same key and body gets the first caller's response;
- the fingerprint covers method, path and body, not the query string (the same key with
  another query replays the first response) nor the content type;
- headers pass through a dict, in the response and its replay alike: of several
  ``Set-Cookie`` lines only the last is kept, and it is replayed; an error response
  that the handler returns (a 500 included) is stored and replayed;
- it is a ``BaseHTTPMiddleware``; a keyed request costs on Redis four commands in a row
  (GET, SET NX, SET, DEL), a replay one.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import sqlalchemy as sa

from benchmarks.app import create_app
from benchmarks.services import Services, delete_redis_keys, delete_rows
from benchmarks.variants.base import Variant, VariantSpec

__all__ = ["FASTIDEMPOTENT_SPECS"]

_CAVEAT = (
    "no lease renewal (a handler slower than the 30 s lock lets a duplicate run), no "
    "caller scope (another caller with the same key and body gets the first caller's "
    "response), no query string or content type in the fingerprint, keeps one header "
    "line per name (one Set-Cookie of several) and replays it"
)

_RACE = (
    "; reads, then claims apart: a duplicate that reads before the first completes and "
    "claims after it runs the handler again"
)

_LACKS = "no scope/lease renewal; query unchecked"


def _missing() -> str | None:
    if importlib.util.find_spec("fastidempotent") is None:
        return "fastidempotent is not installed (pip install fastidempotent)"
    return None


def _redis_missing() -> str | None:
    if importlib.util.find_spec("redis") is None:
        return "fastidempotent's Redis backend needs redis (pip install fastidempotent[redis])"
    return _missing()


def _postgres_missing() -> str | None:
    if importlib.util.find_spec("asyncpg") is None:
        return "fastidempotent's PostgreSQL backend needs asyncpg (pip install asyncpg)"
    return _missing()


def _app(backend: Any) -> tuple[Any, Any]:
    from fastidempotent import IdempotencyMiddleware

    app, calls = create_app()
    app.add_middleware(
        IdempotencyMiddleware, backend=backend, ttl=3600, methods=["POST", "PUT", "PATCH"]
    )
    return app, calls


async def _memory(services: Services) -> Variant:
    from fastidempotent import MemoryBackend

    backend = MemoryBackend(ttl=3600)
    app, calls = _app(backend)
    return Variant(app, calls, backend.close)  # its close empties the store


async def _redis(services: Services) -> Variant:
    from fastidempotent import RedisBackend

    prefix = services.prefix("fastidempotent")
    backend = RedisBackend(url=services.redis_url, key_prefix=prefix, ttl=3600)
    await backend.init()
    app, calls = _app(backend)

    async def reset() -> None:
        delete_redis_keys(services.redis_url, prefix)

    return Variant(app, calls, reset, backend.close)


async def _postgres(services: Services) -> Variant:
    from fastidempotent import PostgresBackend

    url = sa.make_url(services.postgres_url).set(drivername="postgresql+asyncpg")
    table = services.table("fastidempotent")
    backend = PostgresBackend(
        url=url.render_as_string(hide_password=False), table_name=table, ttl=3600, pool_size=16
    )
    await backend.init()
    app, calls = _app(backend)

    async def reset() -> None:
        delete_rows(services.postgres_url, table)

    return Variant(app, calls, reset, backend.close)


FASTIDEMPOTENT_SPECS = (
    VariantSpec(
        "fastidempotent/memory",
        "fastidempotent",
        "memory",
        _memory,
        caveat=_CAVEAT,
        lacks=_LACKS,
        missing=_missing,
    ),
    VariantSpec(
        "fastidempotent/redis",
        "fastidempotent",
        "redis",
        _redis,
        caveat=_CAVEAT + _RACE,
        lacks="claim races; " + _LACKS,
        needs=("redis",),
        wire=True,
        missing=_redis_missing,
    ),
    VariantSpec(
        "fastidempotent/postgres",
        "fastidempotent",
        "postgres",
        _postgres,
        caveat=_CAVEAT,
        lacks=_LACKS,
        needs=("postgres",),
        wire=True,
        missing=_postgres_missing,
    ),
)
