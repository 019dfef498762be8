"""The redis-py clients of :class:`~idempotency_middleware.stores.redis.RedisStore`.

A store needs a sync client and, per event loop, an async one. It builds them from a URL
(``redis+cluster://host:port,...`` names a cluster by its nodes,
``redis+sentinel://host:port,.../service`` a master by its sentinels), or derives the
client of one face from the client a caller gave for the other.
"""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeAlias

import redis
import redis.asyncio
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url as _untyped_parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from idempotency_middleware.errors import ConfigurationError

__all__ = ["AsyncClient", "SyncClient", "from_url", "twin"]

SyncClient: TypeAlias = "redis.Redis | RedisCluster"
AsyncClient: TypeAlias = "redis.asyncio.Redis | AsyncRedisCluster"

_CONNECTIONS = {
    redis.Connection, redis.SSLConnection, redis.UnixDomainSocketConnection,
    redis.asyncio.Connection, redis.asyncio.SSLConnection,
    redis.asyncio.UnixDomainSocketConnection,
}  # fmt: skip
_SSL_CONNECTIONS = (redis.SSLConnection, redis.asyncio.SSLConnection)
# Some releases of redis-py annotate these and others do not: called through Any-typed
# names, the code type-checks the same on every release that pyproject admits.
_parse_url: Callable[[str], dict[str, Any]] = _untyped_parse_url
_SYNC_NODE: Any = ClusterNode
_SENTINELS: dict[bool, Any] = {False: Sentinel, True: AsyncSentinel}
# Settings that belong to one client object, or that the store sets itself.
_NOT_COPIED = {"retry", "redis_connect_func", "event_dispatcher", "connection_pool"}


def from_url(url: str, asynchronous: bool, **options: Any) -> Callable[[], Any]:
    """A factory of sync or ``asynchronous`` clients for a store URL, with ``options``
    (which the URL's query options override, as in redis-py)."""
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    cluster = scheme in ("redis+cluster", "rediss+cluster")
    base = scheme.removesuffix("+cluster").removesuffix("+sentinel")
    parts = urllib.parse.urlsplit(f"{base}://{rest}")
    if scheme in ("redis+sentinel", "rediss+sentinel"):
        return _sentinel(parts, asynchronous, options)
    nodes: list[tuple[str, int]] = []
    if cluster:  # a list of nodes: redis-py parses the URL of the first
        credentials, _, hosts = parts.netloc.rpartition("@")
        first, *others = hosts.split(",")
        parts = parts._replace(netloc=f"{credentials}@{first}" if credentials else first)
        nodes = [_address(other) for other in others]
    try:
        parsed = _parse_url(parts.geturl())
    except ValueError as exc:
        raise ConfigurationError(f"RedisStore cannot use the URL: {exc}") from exc
    if parsed.get("decode_responses"):
        raise ConfigurationError("RedisStore needs decode_responses=False in its URL")
    if not cluster:
        client_class = redis.asyncio.Redis if asynchronous else redis.Redis
        return lambda: client_class.from_url(parts.geturl(), **options)
    settings = {**options, **parsed}
    # Cluster clients get settings, not the URL: the nodes of a sync RedisCluster made
    # from a URL keep their connections open when it is closed.
    nodes.insert(0, (settings.pop("host", "localhost"), settings.pop("port", 6379)))
    if issubclass(settings.pop("connection_class", redis.Connection), _SSL_CONNECTIONS):
        settings["ssl"] = True
    if settings.pop("db", 0):
        raise ConfigurationError("a Redis Cluster has only database 0: drop it from the URL")
    # Node objects hold connections: each client gets its own.
    if asynchronous:
        return lambda: AsyncRedisCluster(
            startup_nodes=[AsyncClusterNode(*node) for node in nodes], **settings
        )
    return lambda: RedisCluster(
        startup_nodes=[_SYNC_NODE(*node) for node in nodes],
        **settings,
    )


def _address(host_port: str, default_port: int = 6379) -> tuple[str, int]:
    host, colon, port = host_port.rpartition(":")
    if not colon or not port.isdigit():
        return host_port.strip("[]"), default_port
    return host.strip("[]"), int(port)


def _sentinel(
    parts: urllib.parse.SplitResult, asynchronous: bool, options: dict[str, Any]
) -> Callable[[], Any]:
    """Clients of the master that the sentinels of ``parts`` name, asked again after a
    failover: ``redis+sentinel://[user:password@]host:port[,host:port...]/service[/db]``.
    The credentials and query options are the master's; the sentinels get the timeouts."""
    credentials, _, hosts = parts.netloc.rpartition("@")
    service, _, db = parts.path.strip("/").partition("/")
    if not service or not (db or "0").isdigit():
        raise ConfigurationError(
            "a Sentinel URL names the master's service and may add a database: "
            "redis+sentinel://host:26379,host:26379/mymaster/0"
        )
    sentinels = [_address(host, default_port=26379) for host in hosts.split(",")]
    # redis-py parses the credentials, database and query options of a plain URL.
    netloc = f"{credentials}@localhost" if credentials else "localhost"
    master = parts._replace(netloc=netloc, path=f"/{db or 0}")
    try:
        parsed = _parse_url(master.geturl())
    except ValueError as exc:
        raise ConfigurationError(f"RedisStore cannot use the URL: {exc}") from exc
    settings = {**options, **parsed}
    for name in ("host", "port"):
        settings.pop(name, None)
    if issubclass(settings.pop("connection_class", redis.Connection), _SSL_CONNECTIONS):
        settings["ssl"] = True
    # The store's timeouts and retries for the sentinels too: redis-py's default retries
    # with back-off on a sentinel that is down before it asks the next one.
    asking = {k: v for k, v in settings.items() if k.startswith("socket_") or k == "retry"}

    def connect() -> Any:
        # A manager per client: it holds the connections to the sentinels, which the
        # client closes with its own.
        manager = _SENTINELS[asynchronous](sentinels, sentinel_kwargs=asking, **settings)
        master = _AsyncSentinelMaster if asynchronous else _SentinelMaster
        return manager.master_for(service, redis_class=master)

    return connect


class _SentinelMaster(redis.Redis):
    """A client of the master that also closes its connections to the sentinels."""

    def close(self) -> None:
        pool: Any = self.connection_pool  # a SentinelConnectionPool
        try:
            super().close()
        finally:
            for sentinel in pool.sentinel_manager.sentinels:
                sentinel.close()


class _AsyncSentinelMaster(redis.asyncio.Redis):
    """A client of the master that also closes its connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        pool: Any = self.connection_pool  # a SentinelConnectionPool
        try:
            await super().aclose(close_connection_pool)
        finally:
            for sentinel in pool.sentinel_manager.sentinels:
                await sentinel.aclose()


def twin(client: SyncClient | AsyncClient, retry: Retry | AsyncRetry) -> Callable[[], Any] | None:
    """A factory of clients with ``client``'s connection settings and ``retry``, for the
    other face; None where the settings cannot be copied (Sentinel, custom connections)."""
    asynchronous = isinstance(retry, AsyncRetry)
    kwargs = dict(client.get_connection_kwargs())
    nodes: list[tuple[str, int]] = []
    if isinstance(client, (RedisCluster, AsyncRedisCluster)):
        target: Any = AsyncRedisCluster if asynchronous else RedisCluster
        connection_class = kwargs.get("connection_class", redis.Connection)
        nodes = [(str(n.host), int(n.port)) for n in client.nodes_manager.startup_nodes.values()]
        for name in ("host", "port", "db"):
            kwargs.pop(name, None)
    else:
        target = redis.asyncio.Redis if asynchronous else redis.Redis
        connection_class = client.connection_pool.connection_class
        kwargs["max_connections"] = client.connection_pool.max_connections
        if "path" in kwargs:
            kwargs["unix_socket_path"] = kwargs.pop("path")
    if connection_class not in _CONNECTIONS:
        return None
    if issubclass(connection_class, _SSL_CONNECTIONS):
        kwargs["ssl"] = True
    accepted = set(inspect.signature(target).parameters)
    if target is RedisCluster:  # passes its other keywords on to redis.Redis
        accepted |= set(inspect.signature(redis.Redis).parameters)
    copied = {k: v for k, v in kwargs.items() if k in accepted and k not in _NOT_COPIED}
    copied["retry"] = retry
    if not nodes:
        return lambda: target(**copied)
    node_class = AsyncClusterNode if asynchronous else ClusterNode
    return lambda: target(startup_nodes=[node_class(*node) for node in nodes], **copied)
