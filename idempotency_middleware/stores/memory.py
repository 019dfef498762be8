"""An in-process store, for tests, the demo and single-process servers."""

from __future__ import annotations

import threading
from collections import OrderedDict

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.errors import StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores.base import RecordCounts, Store

__all__ = ["MemoryStore"]


def _size(response: StoredResponse | None) -> int:
    if response is None:
        return 0
    return len(response.body) + sum(len(n) + len(v) for n, v in response.headers)


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
        self._clock = clock
        self._max_records = max_records
        self._max_bytes = max_bytes
        self._records: OrderedDict[str, Record] = OrderedDict()
        # The size of each stored response, counted once when it is stored.
        self._sizes: dict[str, int] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> Record | None:
        record = self._records.get(key)
        if record is not None and record.expires_at <= now:
            self._drop(key)
            return None
        return record

    def _drop(self, key: str) -> None:
        self._records.pop(key, None)
        self._bytes -= self._sizes.pop(key, 0)

    def _put(self, key: str, record: Record) -> None:
        self._drop(key)  # and insert again, so the newest record is the last to go
        self._records[key] = record
        size = _size(record.response)
        if size:
            self._sizes[key] = size
            self._bytes += size
        if self._over():
            self._evict(keep=key)

    def _over(self) -> bool:
        return len(self._records) > self._max_records or self._bytes > self._max_bytes

    def _evict(self, keep: str) -> None:
        now = self._clock()
        passed = 0
        # Oldest first. A claim in progress is moved to the back instead of evicted, so
        # each eviction looks at the few records it passes, never at the whole store.
        while self._over() and passed < len(self._records):
            key = next(iter(self._records))
            record = self._records[key]
            if key != keep and (record.state is RecordState.COMPLETED or record.expires_at <= now):
                self._drop(key)
            else:
                self._records.move_to_end(key)
                passed += 1

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        with self._lock:
            now = self._clock()
            record = self._live(key, now)
            if record is not None and not (
                record.state is RecordState.IN_PROGRESS and record.owner == owner
            ):
                return Claim(False, record, now)
            claimed = Record(RecordState.IN_PROGRESS, fingerprint, owner, now + lease)
            self._put(key, claimed)
            if record is None and self._over():
                # Only claims in progress are left, and evicting one would let its
                # duplicate run: the new claim is refused instead (a 503 for its caller).
                self._drop(key)
                raise StoreError(
                    f"MemoryStore is full: {len(self._records)} claims are in progress "
                    f"(max_records={self._max_records}); raise max_records, or use a SQL "
                    "or Redis store"
                )
            return Claim(True, claimed, now)

    def _held(self, key: str, owner: str, now: float) -> Record | None:
        record = self._live(key, now)
        if record is None or record.state is not RecordState.IN_PROGRESS:
            return None
        return record if record.owner == owner else None

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        with self._lock:
            now = self._clock()
            record = self._held(key, owner, now)
            if record is None:
                return False
            done = Record(RecordState.COMPLETED, record.fingerprint, owner, now + ttl, response)
            self._put(key, done)
            return True

    def renew(self, key: str, owner: str, lease: float) -> bool:
        with self._lock:
            now = self._clock()
            record = self._held(key, owner, now)
            if record is None:
                return False
            self._records[key] = Record(
                RecordState.IN_PROGRESS, record.fingerprint, owner, now + lease
            )
            return True

    def release(self, key: str, owner: str) -> bool:
        with self._lock:
            if self._held(key, owner, self._clock()) is None:
                return False
            self._drop(key)
            return True

    def get(self, key: str) -> Record | None:
        with self._lock:
            return self._live(key, self._clock())

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
            expired = [k for k, r in self._records.items() if r.expires_at <= now]
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
            live = [r.state for r in self._records.values() if r.expires_at > now]
            expired = len(self._records) - len(live)
        in_progress = live.count(RecordState.IN_PROGRESS)
        return RecordCounts(in_progress, len(live) - in_progress, expired)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._sizes.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._records)
