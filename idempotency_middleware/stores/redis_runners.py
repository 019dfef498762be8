"""How the async face of :class:`~idempotency_middleware.stores.redis.RedisStore` sends
its scripts: through a redis-py client, or on connections of the store's own.

redis-py's async client spends more on a command than its round trip needs: a pool
checkout that counts connections for its metrics, a retry wrapper, and, under a socket
timeout, ``asyncio.wait_for`` around each send (a task of its own on Python 3.11), some
five turns of the event loop. So a client that the store built itself for one server (from
a plain URL, or as the twin of a sync client) lends only its connection settings: the
store keeps connections of its own, made by that client's pool, and sends each script
packed in one piece, its reply read under one ``timeout`` with no task. Clients given to
the store, clusters and Sentinel masters keep redis-py's path, which knows their topology.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Protocol

import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import AbstractBackoff, NoBackoff
from redis.exceptions import ConnectionError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as ReplyTimeout

from idempotency_middleware.stores.redis_clients import AsyncClient
from idempotency_middleware.stores.redis_scripts import Script

__all__ = ["ClientRunner", "Runner", "runner"]

# What a re-send may cure: the connection broke, or no reply came in time. Python 3.11
# made asyncio's TimeoutError the builtin one, an OSError.
_RESENT = (ConnectionError, ReplyTimeout, OSError, asyncio.TimeoutError)
_ONE_TRY = AsyncRetry(NoBackoff(), 0)
# redis-py 8 checks a pooled connection with can_read; earlier releases only have
# can_read_destructive, which waits a turn of the loop (and redis-py 8 deprecates it).
_CHECKED = hasattr(redis.asyncio.Connection, "can_read")


class Runner(Protocol):
    """Runs the store's scripts on one event loop."""

    async def run(self, script: Script, arguments: tuple[Any, ...]) -> object:
        """Run ``script`` on one key, ``arguments`` being its key and then its ARGV."""

    async def aclose(self) -> None:
        """Close the connections this runner opened."""


def runner(client: AsyncClient, retries: int, backoff: AbstractBackoff) -> Runner:
    """The runner for a client the store built: its own connections where ``client`` is
    a plain one of one server, else ``client`` itself."""
    if type(client) is redis.asyncio.Redis:
        # Not a subclass (a Sentinel master), nor a pool that picks its server or waits.
        pool = client.connection_pool
        if type(pool) is redis.asyncio.ConnectionPool:
            return _Direct(client, retries, backoff)
    return ClientRunner(client)


class ClientRunner:
    """Scripts through a redis-py client, which retries as it was told."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def run(self, script: Script, arguments: tuple[Any, ...]) -> object:
        client = self._client
        if isinstance(client, AsyncRedisCluster):
            # Read the slot map before the first command (a no-op afterwards): in
            # redis-py 8, first commands issued at once on a fresh cluster client
            # are routed by a guess and break each other's connections.
            await client.initialize()
        try:
            return await client.evalsha(script.sha, 1, *arguments)
        except NoScriptError:
            # The server has not seen the script (restarted, or another node of the
            # cluster): EVAL runs it and caches it in one round trip.
            return await client.eval(script.source, 1, *arguments)

    async def aclose(self) -> None:
        await self._client.aclose()


class _Direct:
    """Scripts on connections made by ``client``'s pool and held here: a command that
    broke its connection or met the socket timeout is sent again up to ``retries``
    times, after ``backoff``; a connection is reused only once its reply was read."""

    def __init__(self, client: redis.asyncio.Redis, retries: int, backoff: AbstractBackoff) -> None:
        self._client = client
        # redis-py leaves these methods unannotated: called through an Any-typed name.
        self._pool: Any = client.connection_pool
        self._retries = retries
        self._backoff = backoff
        settings = self._pool.connection_kwargs
        # As redis-py's encoder: how a str argument becomes bytes.
        self._encoding: tuple[str, str] = (
            settings.get("encoding", "utf-8"),
            settings.get("encoding_errors", "strict"),
        )
        self._reply_timeout: float | None = settings.get("socket_timeout")
        connect_timeout = settings.get("socket_connect_timeout") or self._reply_timeout
        # Connecting includes the handshake (HELLO, AUTH, SELECT), replies read without
        # redis-py's timeout on these connections: the two bounds together bound it.
        self._connect_timeout = (
            None if connect_timeout is None or self._reply_timeout is None
            else connect_timeout + self._reply_timeout
        )  # fmt: skip
        self._idle: list[Any] = []
        self._connections: list[Any] = []  # redis.asyncio.Connection
        self._deadlines = _Deadlines(asyncio.get_running_loop())

    async def run(self, script: Script, arguments: tuple[Any, ...]) -> object:
        try:
            return await self._execute(script.evalsha, arguments)
        except NoScriptError:
            return await self._execute(script.eval, arguments)

    async def _execute(self, head: bytes, arguments: tuple[Any, ...]) -> object:
        command = _packed(head, arguments, *self._encoding)
        connection = await self._checkout()
        task = asyncio.current_task()
        assert task is not None  # a coroutine of asyncio runs in a task
        failures = 0
        try:
            while True:
                error: BaseException
                # Sending connects first where the connection is closed.
                bound = self._reply_timeout if connection.is_connected else self._connect_timeout
                self._deadlines.arm(task, bound)
                try:
                    await connection.send_packed_command(command, check_health=False)
                    return await connection.read_response()
                except _RESENT as exc:
                    error = exc
                except asyncio.CancelledError:
                    if not self._deadlines.expired(task):
                        raise
                    error = ReplyTimeout(f"Timeout: Redis did not answer within {bound} s")
                finally:
                    self._deadlines.disarm(task)
                await connection.disconnect(nowait=True)
                failures += 1
                if failures > self._retries:
                    raise error
                await asyncio.sleep(self._backoff.compute(failures))
        except ResponseError:
            raise  # the whole reply was read: the connection is in step
        except BaseException:
            # Cancelled or failed between a command and its reply: the reply may still
            # come, and the next command must not read it. redis-py has closed the
            # connection already where it saw the error; this is for the rest.
            await connection.disconnect(nowait=True)
            raise
        finally:
            self._idle.append(connection)

    async def _checkout(self) -> Any:
        if self._idle:
            connection = self._idle.pop()
            if _CHECKED and connection.is_connected:
                # As redis-py's pool does: a connection the server closed while it
                # was idle is opened anew, not found broken by the command.
                try:
                    stale = await connection.can_read()
                except (ConnectionError, OSError):
                    stale = True
                if stale:
                    await connection.disconnect(nowait=True)
            return connection
        if len(self._connections) >= self._pool.max_connections:
            raise ConnectionError("Too many connections")
        connection = self._pool.make_connection()
        # The replies are read under this runner's timeout, and it sends again itself.
        connection.socket_timeout = None
        connection.retry = _ONE_TRY
        self._connections.append(connection)
        return connection

    async def aclose(self) -> None:
        connections, self._connections, self._idle = self._connections, [], []
        try:
            for connection in connections:
                await connection.disconnect()
        finally:
            await self._client.aclose()


class _Deadlines:
    """Time bounds of the commands in flight on one event loop, kept by one timer: a
    command past its bound has its task cancelled. ``asyncio.timeout`` would schedule and
    cancel a timer per command, which costs a command more than the rest of its path."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._armed: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def arm(self, task: asyncio.Task[Any], seconds: float | None) -> None:
        """Bound the command ``task`` is about to wait for, unless ``seconds`` is None."""
        if seconds is None:
            return
        deadline = self._loop.time() + seconds
        self._armed[task] = deadline
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._sweep)

    def disarm(self, task: asyncio.Task[Any]) -> None:
        """The command of ``task`` is over."""
        self._armed.pop(task, None)
        self._expired.discard(task)

    def expired(self, task: asyncio.Task[Any]) -> bool:
        """Whether ``task`` was cancelled for its bound and for nothing else, which
        Python 3.11's count of cancellations tells; the bound's is withdrawn."""
        if task not in self._expired:
            return False
        if sys.version_info >= (3, 11):
            return task.uncancel() == 0
        return True

    def _sweep(self) -> None:
        self._timer = None
        now = self._loop.time()
        for task, deadline in list(self._armed.items()):
            if deadline <= now:
                del self._armed[task]
                self._expired.add(task)
                task.cancel()
        if self._armed:
            self._timer = self._loop.call_at(min(self._armed.values()), self._sweep)


def _packed(head: bytes, arguments: tuple[Any, ...], encoding: str, errors: str) -> list[bytes]:
    """The command ``head`` (which counts as three words) with ``arguments``, in RESP."""
    parts = [b"*%d\r\n" % (len(arguments) + 3), head]
    for value in arguments:
        if isinstance(value, str):
            value = value.encode(encoding, errors)
        elif isinstance(value, int):
            value = b"%d" % value
        parts += (b"$%d\r\n" % len(value), value, b"\r\n")
    return parts
