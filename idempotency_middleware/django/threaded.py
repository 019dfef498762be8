"""The async face of the Django stores: their sync face, run in a thread by asgiref.

Django's cache and database connections are blocking and belong to a thread, and
Django's own async cache and ORM methods run them the same way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, ParamSpec, TypeVar

from asgiref.sync import sync_to_async

from idempotency_middleware.records import Claim, Record, StoredResponse
from idempotency_middleware.stores.base import Store

__all__ = ["ThreadedStore"]

_P = ParamSpec("_P")
_T = TypeVar("_T")


class ThreadedStore(Store):
    """A store whose async face runs its sync face through ``sync_to_async``.

    ``thread_sensitive`` picks the thread: True for work that must share the request's
    connection and transaction (the database store), False for work any thread can do.
    """

    thread_sensitive: ClassVar[bool] = True

    def _threaded(self, function: Callable[_P, _T]) -> Callable[_P, Awaitable[_T]]:
        return sync_to_async(function, thread_sensitive=self.thread_sensitive)

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return await self._threaded(self.claim)(key, owner, fingerprint, lease)

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        return await self._threaded(self.complete)(key, owner, response, ttl)

    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        return await self._threaded(self.renew)(key, owner, lease)

    async def arelease(self, key: str, owner: str) -> bool:
        return await self._threaded(self.release)(key, owner)

    async def aget(self, key: str) -> Record | None:
        return await self._threaded(self.get)(key)

    async def aclose(self) -> None:
        await self._threaded(self.close)()
