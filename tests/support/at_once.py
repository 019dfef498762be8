"""Identical requests sent together, as a client that retries or a user who clicks again,
and what their answers must show: one run, the rest turned away or replayed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from idempotency_middleware.testing import assert_one_run

__all__ = ["post_at_once", "the_one_run"]


def post_at_once(base_url: str, path: str, count: int, **request: Any) -> list[httpx.Response]:
    """``count`` identical POSTs of ``request`` (httpx arguments), each on a connection of
    its own, sent together."""

    async def send() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            return await asyncio.gather(*(client.post(path, **request) for _ in range(count)))

    return asyncio.run(send())


def the_one_run(responses: Sequence[httpx.Response], status: int = 201) -> httpx.Response:
    """The one response of a handler run, of ``status``; every other is a 409 (it came
    while the run went on) or a replay of it (it came after)."""
    original = assert_one_run(responses)
    assert original.status_code == status, original.text
    return original
