"""The contract every store fulfils, once for sync callers and once for async ones.

A store keeps one record per lookup key and offers four atomic operations. Each store
class implements both faces, so one store object serves a sync adapter (Django, Flask)
and an async one (ASGI) alike. Every driver error is raised as
:class:`~idempotency_middleware.errors.StoreError`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from idempotency_middleware.records import Claim, Record, StoredResponse

__all__ = ["RecordCounts", "Store"]


@dataclass(frozen=True)
class RecordCounts:
    """How many records a store holds, by state (what :meth:`Store.stats` answers).

    ``expired`` counts the records past their lease or retention that are still there:
    they read as absent, and :meth:`Store.purge` deletes them.
    """

    in_progress: int
    completed: int
    expired: int


class Store(abc.ABC):
    """Base class of the stores.

    Operation contract (shared by the sync and async faces):

    ``claim(key, owner, fingerprint, lease)``
        In one atomic operation: if no live record holds ``key`` (none at all, an
        in-progress record whose lease has expired, or a completed record past its
        retention), write an in-progress record owned by ``owner`` whose lease ends
        ``lease`` seconds from now, and answer ``Claim(claimed=True)``. If the standing
        record is in progress and owned by ``owner`` (a claim re-sent after a dropped
        connection), answer ``claimed=True`` too. Otherwise leave the record untouched
        and answer it, ``claimed=False``.

    ``complete(key, owner, response, ttl)``
        If ``owner`` still holds ``key``, turn the record into a completed one holding
        ``response`` (None: completed without a replayable body) that expires ``ttl``
        seconds from now, and answer True. Otherwise change nothing and answer False.

    ``renew(key, owner, lease)``
        If ``owner`` still holds ``key``, move its lease end to ``lease`` seconds from
        now and answer True; otherwise change nothing and answer False. Unlike a re-sent
        claim, it never creates a record, so a renewal racing a release cannot revive it.

    ``release(key, owner)``
        If ``owner`` still holds ``key``, delete the record and answer True; otherwise
        change nothing and answer False.

    ``get(key)``
        The live record for ``key``, or None. Expired records read as None.
    """

    suspends: bool = True
    """True when the async faces may wait on I/O: an async adapter then shields a
    completion from the cancellation of its request. A store whose async faces run to
    their end without suspending sets it False, sparing a task per completion."""

    @abc.abstractmethod
    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        """Claim ``key`` for ``owner`` or return the record that stands."""

    @abc.abstractmethod
    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        """Store the response of ``owner``'s request; False if the lease was lost."""

    @abc.abstractmethod
    def renew(self, key: str, owner: str, lease: float) -> bool:
        """Extend ``owner``'s lease on ``key``; False if it no longer holds it."""

    @abc.abstractmethod
    def release(self, key: str, owner: str) -> bool:
        """Drop ``owner``'s claim so the key can run again; False if it was not held."""

    @abc.abstractmethod
    def get(self, key: str) -> Record | None:
        """Return the live record for ``key``, or None."""

    @abc.abstractmethod
    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        """Async face of :meth:`claim`."""

    @abc.abstractmethod
    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        """Async face of :meth:`complete`."""

    @abc.abstractmethod
    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        """Async face of :meth:`renew`."""

    @abc.abstractmethod
    async def arelease(self, key: str, owner: str) -> bool:
        """Async face of :meth:`release`."""

    @abc.abstractmethod
    async def aget(self, key: str) -> Record | None:
        """Async face of :meth:`get`."""

    @abc.abstractmethod
    def purge(self) -> int:
        """Delete expired records and return how many went (0 where the backend expires
        records by itself)."""

    @abc.abstractmethod
    def forget(self, key: str) -> bool:
        """Delete the record for ``key`` whatever its state; True if there was one."""

    def stats(self) -> RecordCounts | None:
        """Count the records of this store's namespace by state; None where the store
        cannot list its records (a cache)."""
        return None

    @abc.abstractmethod
    def clear(self) -> None:
        """Delete every record of this store's namespace (for tests)."""

    def __bool__(self) -> bool:
        """Always True, even for an empty store that defines ``__len__``, so that
        ``store or default`` keeps the store it was given."""
        return True

    def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Release connections held by the sync face."""

    async def aclose(self) -> None:  # noqa: B027
        """Release connections held by the async face."""
