"""An in-process store, for tests, the demo and single-process servers."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.errors import StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores.base import RecordCounts, Store

__all__ = ["MemoryStore"]

_IN_PROGRESS = RecordState.IN_PROGRESS
_COMPLETED = RecordState.COMPLETED

# What the dict holds for a key: (completed, fingerprint, owner, expires_at, size) and,
# when a response is stored, its status, body and header names and values one after
# the other; size is its bytes, counted once when it is stored. A flat tuple of strings,
# bytes and numbers, never the Record values themselves: the cyclic GC stops tracking
# such a tuple at its first collection, so a full collection no longer walks every
# record (about 100 ms at 100,000 records otherwise).
_Entry = tuple[Any, ...]


def _record(entry: _Entry) -> Record:
    completed, fingerprint, owner, expires_at = entry[:4]
    if len(entry) == 5:
        state = _COMPLETED if completed else _IN_PROGRESS
        return Record(state, fingerprint, owner, expires_at)
    headers = tuple(zip(entry[7::2], entry[8::2], strict=True))
    response = StoredResponse(entry[5], headers, entry[6])
    return Record(_COMPLETED, fingerprint, owner, expires_at, response)


class MemoryStore(Store):
    """Records in a dict of this process, bounded by count and by stored bytes.

    Each worker process has its own records, so this store protects nothing across the
    workers of ``uvicorn --workers 4`` or gunicorn: use a SQL or Redis store there.
    When a bound is reached, the oldest completed records are evicted first; an
    in-progress claim is never evicted (that would let a duplicate run): a store full of
    claims refuses a new one with :class:`StoreError`. A lock makes
    every operation atomic across threads; the async faces never wait on I/O, so they
    call the same code.
    """

    suspends = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass may await in its async faces (a test's slow store does): it is
        # shielded unless it says otherwise.
        if "suspends" not in cls.__dict__:
            cls.suspends = True

    def __init__(
        self,
        *,
        clock: Clock = system_clock,
        max_records: int = 100_000,
        max_bytes: int = 256 * 2**20,
    ) -> None:
        # The same time, one Python call less on every operation.
        self._clock = time.time if clock is system_clock else clock
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._records: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._records.get(key)
        if entry is not None and entry[3] <= now:
            self._drop(key)
            return None
        return entry

    def _drop(self, key: str) -> None:
        entry = self._records.pop(key, None)
        if entry is not None:
            self._bytes -= entry[4]

    def _over(self) -> bool:
        return len(self._records) > self._max_records or self._bytes > self._max_bytes

    def _evict(self, keep: str) -> None:
        now = self._clock()
        passed = 0
        # Oldest first. A claim in progress is moved to the back instead of evicted, so
        # each eviction looks at the few records it passes, never at the whole store.
        while self._over() and passed < len(self._records):
            key = next(iter(self._records))
            entry = self._records[key]
            if key != keep and (entry[0] or entry[3] <= now):
                self._drop(key)
            else:
                self._records.move_to_end(key)
                passed += 1

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        with self._lock:
            now = self._clock()
            records = self._records
            entry = records.get(key)
            live = False
            if entry is not None:
                live = entry[3] > now
                if live and (entry[0] or entry[2] != owner):
                    return Claim(False, _record(entry), now)
                # Expired, or this owner's claim sent again: taken over, and inserted
                # again so that the newest record is the last to go.
                del records[key]
                self._bytes -= entry[4]
            expires_at = now + lease
            records[key] = (False, fingerprint, owner, expires_at, 0)
            if len(records) > self._max_records or self._bytes > self._max_bytes:
                self._evict(keep=key)
                if not live and self._over():
                    # Only claims in progress are left, and evicting one would let its
                    # duplicate run: the new claim is refused instead (a 503 for its caller).
                    del records[key]
                    raise StoreError(
                        f"MemoryStore is full: {len(records)} claims are in progress "
                        f"(max_records={self._max_records}); raise max_records, or use a "
                        "SQL or Redis store"
                    )
            return Claim(True, Record(_IN_PROGRESS, fingerprint, owner, expires_at), now)

    def _held(self, key: str, owner: str, now: float) -> _Entry | None:
        entry = self._live(key, now)
        if entry is None or entry[0] or entry[2] != owner:
            return None
        return entry

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        with self._lock:
            now = self._clock()
            records = self._records
            entry = records.get(key)
            if entry is None:
                return False
            if entry[3] <= now:
                del records[key]
                self._bytes -= entry[4]
                return False
            if entry[0] or entry[2] != owner:
                return False
            # Inserted again, so that the newest record is the last to go; a claim in
            # progress held no bytes.
            del records[key]
            if response is None:
                records[key] = (True, entry[1], owner, now + ttl, 0)
            else:
                body = response.body
                stored = [True, entry[1], owner, now + ttl, 0, response.status, body]
                size = len(body)
                for name, value in response.headers:
                    stored += (name, value)
                    size += len(name) + len(value)
                stored[4] = size
                records[key] = tuple(stored)
                self._bytes += size
            if len(records) > self._max_records or self._bytes > self._max_bytes:
                self._evict(keep=key)
            return True

    def renew(self, key: str, owner: str, lease: float) -> bool:
        with self._lock:
            now = self._clock()
            entry = self._held(key, owner, now)
            if entry is None:
                return False
            self._records[key] = (False, entry[1], owner, now + lease, 0)
            return True

    def release(self, key: str, owner: str) -> bool:
        with self._lock:
            if self._held(key, owner, self._clock()) is None:
                return False
            self._drop(key)
            return True

    def get(self, key: str) -> Record | None:
        with self._lock:
            entry = self._live(key, self._clock())
        return None if entry is None else _record(entry)

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        return self.claim(key, owner, fingerprint, lease)

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        return self.complete(key, owner, response, ttl)

    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        return self.renew(key, owner, lease)

    async def arelease(self, key: str, owner: str) -> bool:
        return self.release(key, owner)

    async def aget(self, key: str) -> Record | None:
        return self.get(key)

    def purge(self) -> int:
        with self._lock:
            now = self._clock()
            expired = [k for k, entry in self._records.items() if entry[3] <= now]
            for key in expired:
                self._drop(key)
            return len(expired)

    def forget(self, key: str) -> bool:
        with self._lock:
            present = key in self._records
            self._drop(key)
            return present

    def stats(self) -> RecordCounts:
        with self._lock:
            now = self._clock()
            live = [entry[0] for entry in self._records.values() if entry[3] > now]
            expired = len(self._records) - len(live)
        completed = live.count(True)
        return RecordCounts(len(live) - completed, completed, expired)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._records)
