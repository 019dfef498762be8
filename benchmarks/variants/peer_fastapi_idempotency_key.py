"""``fastapi-idempotency-key`` (PyPI), on its memory backend.

Configured as its README shows (``MemoryBackend()``, ``default_ttl=86400``). Read from
its installed source (``fastapi_idempotency_key/middleware.py`` and ``backends/``) and
checked in process against the benchmark's kind of app:

- the claim is atomic (one ``asyncio.Lock`` in memory, one Lua script on Redis): three
  identical requests at once ran the handler once, the other two got 409;
- the fingerprint covers method, path, query and body (not the content type), and the
  key alone names the record: no caller scope, so another caller sending the same key
  and body gets the first caller's response, ``Set-Cookie`` included;
- no lease: the claim lives as long as the record (``default_ttl``, a day), and is
  released only when the handler raises an ``Exception``; a request cancelled mid-handler
  (client gone, worker killed) leaves its key answering 409 until then;
- a replay repeats the status, every header line in order and the body bytes;
- its Redis backend is not benchmarked: it stores the completed record with an empty
  fingerprint, so every replay of the same request answers 422 and the replay check
  fails.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from benchmarks.app import create_app
from benchmarks.services import Services
from benchmarks.variants.base import Variant, VariantSpec

__all__ = ["FASTAPI_IDEMPOTENCY_KEY_SPECS"]

_CAVEAT = (
    "no caller scope (another caller with the same key and body gets the first caller's "
    "response, Set-Cookie included), no lease (a request cancelled mid-handler leaves its "
    "key answering 409 for the record's TTL, a day by default), no content type in the "
    "fingerprint"
)

_LACKS = "no caller scope; no lease"


def _missing() -> str | None:
    if importlib.util.find_spec("fastapi_idempotency_key") is None:
        return "fastapi-idempotency-key is not installed (pip install fastapi-idempotency-key)"
    return None


def _factory(middleware: Any) -> Any:
    # Starlette's typing wants the app parameter positional-only; this one names it.
    return middleware


async def _memory(services: Services) -> Variant:
    from fastapi_idempotency_key import IdempotencyMiddleware, MemoryBackend

    backend = MemoryBackend()
    app, calls = create_app()
    app.add_middleware(
        _factory(IdempotencyMiddleware),
        backend=backend,
        header_name="Idempotency-Key",
        default_ttl=86400,
    )
    return Variant(app, calls, backend.clear)


FASTAPI_IDEMPOTENCY_KEY_SPECS = (
    VariantSpec(
        "fastapi-idempotency-key/memory",
        "fastapi-idempotency-key",
        "memory",
        _memory,
        caveat=_CAVEAT,
        lacks=_LACKS,
        missing=_missing,
    ),
)
