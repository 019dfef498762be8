"""A store that hands every operation to another: the base of the layers the options add
around the configured store (encryption at rest, tracing)."""

from __future__ import annotations

from typing import Any

from idempotency_middleware.records import Claim, Record, StoredResponse
from idempotency_middleware.stores.base import RecordCounts, Store

__all__ = ["StoreWrapper"]


class StoreWrapper(Store):
    """Forwards every operation to ``inner``; subclasses override the few they change.

    Attributes that are not part of :class:`Store` (a SQL store's table, a Redis
    store's client) are read from ``inner`` too, so code written for the configured
    store keeps working on the layered one.
    """

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        # Only called for missing attributes: "inner" itself is missing while copy or
        # pickle rebuild the object, and must not recurse.
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return self.inner.claim(key, owner, fingerprint, lease)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        return self.inner.complete(key, owner, response, ttl)

    def renew(self, key: str, owner: str, lease: float) -> bool:
        return self.inner.renew(key, owner, lease)

    def release(self, key: str, owner: str) -> bool:
        return self.inner.release(key, owner)

    def get(self, key: str) -> Record | None:
        return self.inner.get(key)

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return await self.inner.aclaim(key, owner, fingerprint, lease)

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        return await self.inner.acomplete(key, owner, response, ttl)

    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        return await self.inner.arenew(key, owner, lease)

    async def arelease(self, key: str, owner: str) -> bool:
        return await self.inner.arelease(key, owner)

    async def aget(self, key: str) -> Record | None:
        return await self.inner.aget(key)

    def purge(self) -> int:
        return self.inner.purge()

    def forget(self, key: str) -> bool:
        return self.inner.forget(key)

    def stats(self) -> RecordCounts | None:
        return self.inner.stats()

    def clear(self) -> None:
        self.inner.clear()

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner.aclose()
