"""Stores that let a test see, or break, what the middleware asks of them."""

from __future__ import annotations

import threading

from idempotency_middleware.errors import StoreError
from idempotency_middleware.records import Claim
from idempotency_middleware.stores import MemoryStore

__all__ = ["BrokenStore", "WatchedStore"]


class WatchedStore(MemoryStore):
    """A memory store that counts the claims it refused: each is a request that found
    its key held by another."""

    def __init__(self) -> None:
        super().__init__()
        self._refused = 0
        self._changed = threading.Condition()

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        claim = super().claim(key, owner, fingerprint, lease)
        if not claim.claimed:
            with self._changed:
                self._refused += 1
                self._changed.notify_all()
        return claim

    def wait_for_refusals(self, count: int, timeout: float = 30) -> bool:
        """Whether ``count`` claims were refused within ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self._refused >= count, timeout)


class BrokenStore(MemoryStore):
    """A store whose server is down."""

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        raise StoreError("the store is down")
