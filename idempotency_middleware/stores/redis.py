"""A store in Redis or Redis Cluster, through redis-py.

Every operation is one Lua script on one key (:mod:`~idempotency_middleware.stores.
redis_scripts`), so one round trip: a fresh request costs two (claim, complete) and a
replay one (claim), and the store works unchanged on Redis Cluster. Records expire by
their Redis TTL, on the server's clock. Clients are built or derived in
:mod:`~idempotency_middleware.stores.redis_clients`.
"""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import redis
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError
from redis.retry import Retry

from idempotency_middleware.clock import Clock
from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores import forks
from idempotency_middleware.stores.base import RecordCounts, Store
from idempotency_middleware.stores.codec import encode_headers
from idempotency_middleware.stores.redis_clients import AsyncClient, SyncClient, from_url, twin
from idempotency_middleware.stores.redis_runners import ClientRunner, Runner, runner
from idempotency_middleware.stores.redis_scripts import (
    CLAIM,
    COMPLETE,
    GET,
    RELEASE,
    RENEW,
    Script,
    claimed,
    standing,
)

__all__ = ["RedisStore"]

_DRIVER_ERRORS = (RedisError, RedisClusterException, OSError)
_BATCH = 1000


class RedisStore(Store):
    """Records in Redis, one hash per key, shared by every worker that reaches the server.

    ``url_or_client`` is a URL: ``redis://[user:password@]host:port/db``, ``rediss://``
    for TLS (redis-py's query options such as ``ssl_ca_certs`` apply), ``unix://path``,
    ``redis+cluster://host:port[,host:port...]`` (``rediss+cluster://``) for a Redis
    Cluster, or ``redis+sentinel://host:port[,host:port...]/service[/db]``
    (``rediss+sentinel://``) for the master that Redis Sentinel names, asked again after
    a failover; or a client: ``redis.Redis``, ``redis.cluster.RedisCluster`` or their
    ``redis.asyncio`` counterparts. From a URL the store builds its clients with the
    timeouts and retries below; a client you pass is used as it is and left open by
    :meth:`close`, and the other face gets a client of its own with the same connection
    settings and the store's retries (or pass ``async_client`` too). Clients must return
    bytes (``decode_responses=False``), since bodies are. The async face keeps one client
    per running event loop, since pooled connections belong to a loop; an
    ``async_client`` you pass is used on every loop.

    ``socket_timeout`` bounds each reply and ``connect_timeout`` each connection; a command
    that met a timeout or a dropped connection is sent again up to ``retries`` times,
    which every operation allows: a re-sent claim finds its own owner token, a re-sent
    completion its own response. A dead server thus raises
    :class:`~idempotency_middleware.errors.StoreError` within about ``(retries + 1) *
    (connect_timeout + socket_timeout)``.

    Leases and retention run on the Redis server's clock, which every worker shares; a
    ``clock`` replaces it for tests (Redis still drops keys after their lease or
    retention in real time). ``prefix`` starts every key, so services can share a
    database; :meth:`clear` deletes the keys under it. Call :meth:`close`, and
    :meth:`aclose` on each event loop that used the async face.

    Needs Redis 5 or later. Run it with ``maxmemory-policy noeviction``: a claim that
    Redis evicts to make room lets a duplicate run, while a full Redis under
    ``noeviction`` refuses the write, which the middleware answers with 503.
    """

    def __init__(
        self,
        url_or_client: str | SyncClient | AsyncClient,
        *,
        async_client: AsyncClient | None = None,
        prefix: str = "idem:",
        clock: Clock | None = None,
        socket_timeout: float = 2.0,
        connect_timeout: float = 1.0,
        retries: int = 1,
    ) -> None:
        if not prefix:
            raise ConfigurationError("RedisStore prefix must not be empty: it is the namespace")
        if min(socket_timeout, connect_timeout) <= 0 or retries < 0:
            raise ConfigurationError(
                "RedisStore needs socket_timeout and connect_timeout above 0 and retries >= 0"
            )
        self._prefix = prefix
        self._clock = clock
        timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": connect_timeout}
        backoff = ExponentialWithJitterBackoff(cap=0.5, base=0.05)
        retry, async_retry = Retry(backoff, retries), AsyncRetry(backoff, retries)
        self._sync_given: SyncClient | None = None
        self._async_given = async_client
        self._new_sync: Callable[[], SyncClient] | None = None
        new_async: Callable[[], AsyncClient] | None = None
        if isinstance(url_or_client, str):
            self._new_sync = from_url(url_or_client, False, retry=retry, **timeouts)
            new_async = from_url(url_or_client, True, retry=async_retry, **timeouts)
        elif isinstance(url_or_client, (redis.Redis, RedisCluster)):
            self._sync_given = url_or_client
            new_async = twin(url_or_client, async_retry)
        elif isinstance(url_or_client, (redis.asyncio.Redis, AsyncRedisCluster)):
            if async_client is not None:
                raise ConfigurationError("RedisStore got two async clients: pass a sync one")
            self._async_given = url_or_client
            self._new_sync = twin(url_or_client, retry)
        else:
            raise ConfigurationError(
                f"RedisStore takes a URL or a redis-py client, not {type(url_or_client)!r}"
            )
        for client in (self._sync_given, self._async_given):
            if client is not None and client.get_encoder().decode_responses:
                raise ConfigurationError("RedisStore needs a client with decode_responses=False")
        given = self._async_given
        self._async_given_runner = None if given is None else ClientRunner(given)
        self._new_runner: Callable[[], Runner] | None = None
        if new_async is not None:
            self._new_runner = lambda: runner(new_async(), retries, backoff)
        self._sync_client: SyncClient | None = None
        self._lock = threading.Lock()
        self._runners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Runner]
        self._runners = weakref.WeakKeyDictionary()
        forks.register(self)

    @property
    def prefix(self) -> str:
        """The start of every key this store writes."""
        return self._prefix

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        lease_ms = _ms(lease)
        reply = self._run(CLAIM, key, owner, fingerprint, lease_ms)
        return claimed(reply, owner, fingerprint, lease_ms)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        return self._run(COMPLETE, key, owner, _ms(ttl), *_response_args(response)) == 1

    def renew(self, key: str, owner: str, lease: float) -> bool:
        return self._run(RENEW, key, owner, _ms(lease)) == 1

    def release(self, key: str, owner: str) -> bool:
        return self._run(RELEASE, key, owner) == 1

    def get(self, key: str) -> Record | None:
        return standing(self._run(GET, key))

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        lease_ms = _ms(lease)
        reply = await self._arun(CLAIM, key, owner, fingerprint, lease_ms)
        return claimed(reply, owner, fingerprint, lease_ms)

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        args = _response_args(response)
        return await self._arun(COMPLETE, key, owner, _ms(ttl), *args) == 1

    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        return await self._arun(RENEW, key, owner, _ms(lease)) == 1

    async def arelease(self, key: str, owner: str) -> bool:
        return await self._arun(RELEASE, key, owner) == 1

    async def aget(self, key: str) -> Record | None:
        return standing(await self._arun(GET, key))

    def purge(self) -> int:
        return 0  # every record carries its own TTL: Redis drops it when it expires

    def forget(self, key: str) -> bool:
        try:
            return int(self._sync().delete(self._prefix + key)) == 1
        except _DRIVER_ERRORS as exc:
            raise _store_error(exc) from exc

    def stats(self) -> RecordCounts:
        states = {
            RecordState.IN_PROGRESS.value.encode(): 0,
            RecordState.COMPLETED.value.encode(): 0,
        }
        expired = 0
        try:
            client = self._sync()
            if self._clock is None:
                seconds, microseconds = client.time()
                now = seconds * 1000 + microseconds // 1000
            else:
                now = round(self._clock() * 1000)
            for batch in self._batches(client):
                pipeline = client.pipeline(transaction=False)
                for name in batch:
                    pipeline.hmget(name, "s", "e")
                for reply in pipeline.execute(raise_on_error=False):
                    # A key under the prefix that is no record (another type) is no
                    # concern of the counts; nor is one that expired since the scan.
                    if not isinstance(reply, list) or reply[0] not in states:
                        continue
                    if reply[1] is not None and int(reply[1]) <= now:
                        expired += 1
                    else:
                        states[reply[0]] += 1
        except _DRIVER_ERRORS as exc:
            raise _store_error(exc) from exc
        in_progress, completed = states.values()
        return RecordCounts(in_progress, completed, expired)

    def clear(self) -> None:
        try:
            client = self._sync()
            # Key by key, never FLUSHDB: other data may share the database.
            for batch in self._batches(client):
                client.unlink(*batch)
        except _DRIVER_ERRORS as exc:
            raise _store_error(exc) from exc

    def _batches(self, client: SyncClient) -> Iterator[list[bytes]]:
        """The keys under the prefix, a batch at a time."""
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", self._prefix) + "*"
        batch: list[bytes] = []
        # SCAN, never KEYS, which blocks the server. On a cluster, redis-py scans every
        # primary.
        for name in client.scan_iter(match=pattern, count=_BATCH):
            batch.append(name)
            if len(batch) == _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        with self._lock:
            client, self._sync_client = self._sync_client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        runner = self._runners.pop(asyncio.get_running_loop(), None)
        if runner is not None:
            try:
                await runner.aclose()
            except _DRIVER_ERRORS as exc:
                raise _store_error(exc) from exc

    def after_fork(self) -> None:
        # The clients the store built open anew in the child; those you pass are yours
        # (redis-py's sync pools reset themselves in a child). The lock may have been
        # held by another thread of the parent at the fork.
        if self._sync_client is not None:
            forks.inherit(self._sync_client)
        forks.inherit(*self._runners.values())
        self._sync_client = None
        self._runners = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _arguments(self, key: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """A script's key and ARGV: the clock's milliseconds (or '' for the server's)
        and ``args``."""
        now = "" if self._clock is None else round(self._clock() * 1000)
        return (self._prefix + key, now, *args)

    def _run(self, script: Script, key: str, *args: Any) -> object:
        arguments = self._arguments(key, args)
        try:
            client = self._sync()
            try:
                return client.evalsha(script.sha, 1, *arguments)
            except NoScriptError:
                # The server has not seen the script (restarted, or another node of the
                # cluster): EVAL runs it and caches it in one round trip.
                return client.eval(script.source, 1, *arguments)
        except _DRIVER_ERRORS as exc:
            raise _store_error(exc) from exc

    async def _arun(self, script: Script, key: str, *args: Any) -> object:
        arguments = self._arguments(key, args)
        try:
            return await self._runner().run(script, arguments)
        except _DRIVER_ERRORS as exc:
            raise _store_error(exc) from exc

    def _sync(self) -> SyncClient:
        if self._sync_given is not None:
            return self._sync_given
        with self._lock:
            if self._sync_client is None:
                # Built on first use: a cluster client connects as it is created, and a
                # store must start while Redis is still down.
                self._sync_client = _require(self._new_sync, "sync", "a sync client")()
            return self._sync_client

    def _runner(self) -> Runner:
        if self._async_given_runner is not None:
            return self._async_given_runner
        loop = asyncio.get_running_loop()
        runner = self._runners.get(loop)
        if runner is None:
            new = _require(self._new_runner, "async", "async_client")
            runner = self._runners[loop] = new()
        return runner


def _ms(seconds: float) -> int:
    # At least 1: Redis deletes a key at once when given a TTL of 0.
    return max(1, round(seconds * 1000))


def _response_args(response: StoredResponse | None) -> tuple[Any, ...]:
    if response is None:
        return ("0", "", "", "")
    return ("1", response.status, encode_headers(response.headers), response.body)


def _require(factory: Callable[[], Any] | None, face: str, remedy: str) -> Callable[[], Any]:
    if factory is None:
        raise ConfigurationError(
            f"RedisStore cannot derive a client for its {face} face from the one given "
            f"(Sentinel or a custom connection class): pass {remedy}"
        )
    return factory


def _store_error(exc: BaseException) -> StoreError:
    return StoreError(f"Redis store error: {type(exc).__name__}: {exc}")
