"""``asgi-idempotency-header`` (PyPI), on its memory and Redis backends.

Installed without its ``redis`` extra (which pins an old redis-py); its Redis backend
runs on the redis-py of this environment. Read from its installed source:

- it GETs the stored response, then SADDs the key to one shared set, and on completion
  SETs the JSON payload and the status and EXPIREs both: six Redis commands, one after
  the other, per fresh request, two per replay;
- the set of keys never expires, and a key whose request crashed stays in it: every
  retry of it answers 409 forever (there is no lease);
- the key alone identifies a request: no fingerprint (another body under the same key
  replays the first response), no caller scope (users share one key space);
- it stores only JSON bodies, and only the status and the body: headers such as
  ``Location`` are not replayed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.app import create_app
from benchmarks.services import Services, delete_redis_keys
from benchmarks.variants.base import Variant, VariantSpec

__all__ = ["HEADER_SPECS"]

_CAVEAT = (
    "no fingerprint, no caller scope, no lease (a crashed request's key answers 409 "
    "forever), JSON bodies only, replays status and body but no headers"
)

_LACKS = "no fingerprint/scope/lease; JSON only"


def _factory(middleware: Any) -> Any:
    # A dataclass whose ``app`` is an ordinary field: Starlette's typing wants it
    # positional-only, which it is at run time.
    return middleware


def _missing() -> str | None:
    if importlib.util.find_spec("idempotency_header_middleware") is None:
        return "asgi-idempotency-header is not installed (pip install asgi-idempotency-header)"
    return None


async def _memory(services: Services) -> Variant:
    from idempotency_header_middleware import IdempotencyHeaderMiddleware
    from idempotency_header_middleware.backends import MemoryBackend

    backend = MemoryBackend()
    app, calls = create_app()
    app.add_middleware(_factory(IdempotencyHeaderMiddleware), backend=backend)

    async def reset() -> None:
        backend.response_store.clear()
        backend.keys.clear()

    return Variant(app, calls, reset)


async def _redis(services: Services) -> Variant:
    from idempotency_header_middleware import IdempotencyHeaderMiddleware
    from idempotency_header_middleware.backends import RedisBackend
    from redis.asyncio import Redis

    prefix = services.prefix("header")
    client = Redis.from_url(services.redis_url)
    backend = RedisBackend(client, keys_key=prefix + "keys", response_key=prefix + "responses:")
    app, calls = create_app()
    app.add_middleware(_factory(IdempotencyHeaderMiddleware), backend=backend)

    async def reset() -> None:
        delete_redis_keys(services.redis_url, prefix)

    async def close() -> None:
        await client.aclose()

    return Variant(app, calls, reset, close)


HEADER_SPECS = (
    VariantSpec(
        "asgi-idempotency-header/memory",
        "asgi-idempotency-header",
        "memory",
        _memory,
        caveat=_CAVEAT,
        lacks=_LACKS,
        missing=_missing,
    ),
    VariantSpec(
        "asgi-idempotency-header/redis",
        "asgi-idempotency-header",
        "redis",
        _redis,
        caveat=_CAVEAT + "; its key set in Redis grows forever",
        lacks=_LACKS,
        needs=("redis",),
        wire=True,
        missing=_missing,
    ),
)
