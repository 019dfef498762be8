"""A store in Django's cache, for a project whose cache every worker shares.

Claims use the cache's atomic ``add``, so one request wins a key even across worker
processes, provided the cache is shared and ``add`` is atomic: Redis
(``django.core.cache.backends.redis.RedisCache``) or Memcached. It is the default store
with such a cache; with any cache in :data:`NOT_SHARED` or :data:`NOT_ATOMIC` the
default is the database store, and ``IDEMPOTENCY_STORE = "cache"`` chooses this store
anyway (``check --deploy`` then reports the cache).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.core.cache import BaseCache, caches

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.django.threaded import ThreadedStore
from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores.codec import FORMAT_VERSION, decode_headers, encode_headers

__all__ = ["NOT_ATOMIC", "NOT_SHARED", "CacheStore"]

NOT_SHARED = {"django.core.cache.backends.locmem.LocMemCache": "is local to each process"}
"""Cache backends whose ``add`` is atomic in one process only, and why."""

# FileBasedCache is shared by the processes of one machine, but its add is a look then a
# write: two workers can both win a key.
NOT_ATOMIC = {
    "django.core.cache.backends.dummy.DummyCache": "stores nothing",
    "django.core.cache.backends.filebased.FileBasedCache": "has no atomic add",
    "django.core.cache.backends.db.DatabaseCache": "has no atomic add over expired entries",
}
"""Cache backends that let two workers claim one key, and why."""

_P = ParamSpec("_P")
_T = TypeVar("_T")

_IN_PROGRESS_SECONDS = 86_400
"""How long an in-progress record stays cached: its lease lives in a key of its own, so
a renewal never rewrites the record (a renewal landing just after the completion would
turn it back into a claim)."""


def _seconds(value: float) -> int:
    # Backends round timeouts down to whole seconds; an entry must outlive its expiry.
    return max(1, math.ceil(value)) + 1


def _encode(record: Record) -> tuple[Any, ...]:
    # Plain values, not the Record class: the cache pickles what it stores, and a pickle
    # names the classes it holds.
    response = record.response
    return (
        FORMAT_VERSION,
        record.state.value,
        record.fingerprint,
        record.owner,
        record.expires_at,
        None if response is None else response.status,
        None if response is None else encode_headers(response.headers),
        None if response is None else response.body,
    )


def _decode(value: Any) -> Record:
    try:
        version, state, fingerprint, owner, expires_at, status, headers, body = value
        if version != FORMAT_VERSION:
            raise RecordDecodeError(f"cached record has format version {version}")
        response = None if status is None else StoredResponse(status, decode_headers(headers), body)
        return Record(RecordState(state), fingerprint, owner, expires_at, response)
    except (TypeError, ValueError) as exc:
        raise RecordDecodeError(f"cached record cannot be decoded: {exc}") from exc


def _guarded(
    operation: Callable[Concatenate[CacheStore, _P], _T],
) -> Callable[Concatenate[CacheStore, _P], _T]:
    """Raise the errors of any cache client (redis-py, pymemcache, ...) as StoreError."""

    @functools.wraps(operation)
    def guarded(store: CacheStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return operation(store, *args, **kwargs)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cache {store.alias!r}: {type(exc).__name__}: {exc}") from exc

    return guarded


def _held(record: Record | None, owner: str) -> bool:
    return record is not None and record.state is RecordState.IN_PROGRESS and record.owner == owner


class CacheStore(ThreadedStore):
    """Records in the Django cache ``alias`` (``IDEMPOTENCY_CACHE``, default ``"default"``),
    under keys starting with ``prefix`` (after the cache's own ``KEY_PREFIX``).

    Limits of a cache, where the database or Redis store does better:

    - A cache has no compare-and-set, so completing, renewing and releasing read the
      record, check the owner token, then write: a worker whose lease expired and was
      taken over in between can still overwrite the new owner's record. Leases are
      renewed while the view runs, which makes that rare; where it matters, use
      ``IDEMPOTENCY_STORE = "database"`` or a ``redis://`` store, which check the owner
      in the same atomic operation as the write.
    - A cache may evict entries under memory pressure, and an evicted claim lets a
      duplicate run: give the records a cache that does not evict them early.
    - A cache cannot list its keys: :meth:`purge` has nothing to do (entries expire by
      themselves), :meth:`stats` cannot count (it answers None), and :meth:`clear`
      starts a new generation of keys, seen by this store object only: it is for tests.

    Expiry is judged on ``clock`` (entries are also given cache timeouts); an expired
    record still cached is taken over by exactly one claimer, through an ``add``. The
    async face runs the sync one in a worker thread: the cache connection of a thread
    carries no state a request needs.
    """

    thread_sensitive = False

    def __init__(
        self, alias: str = "default", *, prefix: str = "idempotency:", clock: Clock = system_clock
    ) -> None:
        self.alias = alias
        self._prefix = prefix
        self._clock = clock
        self._generation: int | None = None

    @_guarded
    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        cache, record_key, lease_key = self._locate(key)
        timeout = _seconds(max(lease, _IN_PROGRESS_SECONDS))
        for _ in range(3):
            now = self._clock()
            claimed = Record(RecordState.IN_PROGRESS, fingerprint, owner, now + lease)
            if cache.add(record_key, _encode(claimed), timeout):
                return Claim(claimed=True, record=claimed, now=now)
            standing = self._read(cache, record_key, lease_key)
            if standing is None:
                continue  # expired or released between the add and the read
            if _held(standing, owner):
                return Claim(claimed=True, record=standing, now=now)
            if standing.expires_at > now:
                return Claim(claimed=False, record=standing, now=now)
            # Expired on the clock but still cached: the claimer that adds the marker of
            # this very record (its owner and its expiry) takes it over; the others see
            # a claim in progress.
            marker = f"{record_key}:takeover:{standing.owner}:{standing.expires_at!r}"
            if cache.add(marker, owner, _seconds(lease)):
                cache.set(record_key, _encode(claimed), timeout)
                return Claim(claimed=True, record=claimed, now=now)
            taking_over = Record(RecordState.IN_PROGRESS, fingerprint, "", now + lease)
            return Claim(claimed=False, record=taking_over, now=now)
        raise StoreError("the record changed under three claims in a row")

    @_guarded
    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        cache, record_key, lease_key = self._locate(key)
        standing = self._read(cache, record_key, lease_key)
        if standing is None or not _held(standing, owner):
            return False
        completed = Record(
            RecordState.COMPLETED, standing.fingerprint, owner, self._clock() + ttl, response
        )
        cache.set(record_key, _encode(completed), _seconds(ttl))
        return True

    @_guarded
    def renew(self, key: str, owner: str, lease: float) -> bool:
        cache, record_key, lease_key = self._locate(key)
        if not _held(self._read(cache, record_key, lease_key), owner):
            return False
        cache.set(lease_key, (owner, self._clock() + lease), _seconds(lease))
        return True

    @_guarded
    def release(self, key: str, owner: str) -> bool:
        cache, record_key, lease_key = self._locate(key)
        if not _held(self._read(cache, record_key, lease_key), owner):
            return False
        cache.delete_many([record_key, lease_key])
        return True

    @_guarded
    def get(self, key: str) -> Record | None:
        cache, record_key, lease_key = self._locate(key)
        record = self._read(cache, record_key, lease_key)
        return record if record is not None and record.expires_at > self._clock() else None

    def purge(self) -> int:
        return 0

    @_guarded
    def forget(self, key: str) -> bool:
        cache, record_key, lease_key = self._locate(key)
        present = bool(cache.delete(record_key))
        cache.delete(lease_key)
        return present

    @_guarded
    def clear(self) -> None:
        cache = self._cache()
        generation_key = self._prefix + "generation"
        cache.add(generation_key, 0, None)
        self._generation = cache.incr(generation_key)

    def _cache(self) -> BaseCache:
        # Looked up each time: Django's cache handles belong to a thread.
        return caches[self.alias]

    def _locate(self, key: str) -> tuple[BaseCache, str, str]:
        cache = self._cache()
        if self._generation is None:
            generation_key = self._prefix + "generation"
            cache.add(generation_key, 0, None)
            self._generation = int(cache.get(generation_key, 0))
        record_key = f"{self._prefix}{self._generation}:{key}"
        return cache, record_key, record_key + ":lease"

    def _read(self, cache: BaseCache, record_key: str, lease_key: str) -> Record | None:
        """The cached record, with the lease end its owner last renewed to."""
        found = cache.get_many([record_key, lease_key])
        if record_key not in found:
            return None
        record = _decode(found[record_key])
        renewed = found.get(lease_key)
        if record.state is RecordState.IN_PROGRESS and isinstance(renewed, tuple):
            lease_owner, expires_at = renewed
            if lease_owner == record.owner:
                record = replace(record, expires_at=expires_at)
        return record
