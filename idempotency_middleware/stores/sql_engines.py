"""The engines of :class:`~idempotency_middleware.stores.sql.SQLAlchemyStore`.

From a URL the store builds engines that spend one round trip per statement (autocommit,
no ROLLBACK on return to the pool, no pre-ping) and give up within set times, so an
unreachable server turns into a prompt ``store-unavailable`` rather than a hung request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from idempotency_middleware.errors import ConfigurationError

__all__ = ["EngineFactory", "async_url", "is_memory", "sync_url"]

_T = TypeVar("_T")

_ASYNC_DRIVERS = {"postgresql": "psycopg", "sqlite": "aiosqlite", "mysql": "asyncmy"}
# Async-only drivers a URL may name for the async face; the sync face then uses the
# backend's sync driver.
_ASYNC_ONLY = {"asyncpg": "psycopg"}
# Drivers whose autocommit state SQLAlchemy can read, so it can skip the ROLLBACK it would
# otherwise send when a connection goes back to the pool: one round trip per operation.
_AUTOCOMMIT_AWARE = {"psycopg", "asyncpg", "pymysql", "asyncmy", "pysqlite", "aiosqlite"}
# Below the idle timeouts of MySQL (8 h) and of the usual proxies and load balancers. A
# pre-ping would catch stale connections too, at one more round trip on every checkout;
# the store instead retries once on a connection found dead.
_POOL_RECYCLE = 1800


def sync_url(url: str | URL) -> URL:
    """Parse ``url`` for the sync face; bare ``postgresql://`` means psycopg 3, which has
    an async mode, and so does ``postgresql+asyncpg://``, whose driver has no sync one."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    sync_driver = _ASYNC_ONLY.get(parsed.get_driver_name())
    if sync_driver is not None:
        return parsed.set(drivername=f"{parsed.get_backend_name()}+{sync_driver}")
    return parsed


def is_memory(url: URL) -> bool:
    """True for an in-memory SQLite database."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def async_url(url: URL) -> URL | None:
    """The URL of the same database through an async driver (the one ``url`` names if it
    is async-only), None where there is none."""
    backend = url.get_backend_name()
    driver: str | None = url.get_driver_name()
    if driver not in _ASYNC_ONLY:
        driver = _ASYNC_DRIVERS.get("mysql" if backend == "mariadb" else backend)
    if driver is None or is_memory(url):
        return None
    derived = url.set(drivername=f"{backend}+{driver}")
    try:
        derived.get_dialect().import_dbapi()
    except ImportError as exc:
        raise ConfigurationError(
            f"the async face of SQLAlchemyStore on {backend} needs the {driver} package: "
            f"install it or pass async_engine"
        ) from exc
    return derived


@dataclass(frozen=True)
class EngineFactory:
    """Builds engines with the store's timeouts and the caller's ``extra`` options;
    without ``durable``, PostgreSQL sessions commit without waiting for the WAL flush."""

    connect_timeout: float
    statement_timeout: float
    extra: Mapping[str, Any]
    durable: bool = True

    def sync(self, url: URL) -> Engine:
        """A sync engine for ``url``."""
        return _create(sa.create_engine, url, self._options(url), self.statement_timeout)

    def asynchronous(self, url: URL) -> AsyncEngine:
        """An async engine for ``url``; its pooled connections belong to one event loop."""
        return _create(create_async_engine, url, self._options(url), self.statement_timeout)

    def _options(self, url: URL) -> dict[str, Any]:
        driver = url.get_driver_name()
        options: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "hide_parameters": True}
        if driver in _AUTOCOMMIT_AWARE:
            options["skip_autocommit_rollback"] = True
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            connect_args["timeout"] = self.statement_timeout
            if is_memory(url):
                # One connection, or every checkout would see a new, empty database.
                options["poolclass"] = StaticPool
                connect_args["check_same_thread"] = False
        else:
            # Last in, first out: after a burst, a lone request takes the connection used
            # last, whose server process and prepared statements are warm, rather than
            # cycling through every connection the burst opened.
            options.update(
                pool_timeout=self.connect_timeout, pool_recycle=_POOL_RECYCLE, pool_use_lifo=True
            )
        statement_ms = round(self.statement_timeout * 1000)
        if driver == "psycopg":
            # Settings in the startup packet cost no round trip, per request or per
            # connection.
            settings = f"-c statement_timeout={statement_ms}"
            if not self.durable:
                settings += " -c synchronous_commit=off"
            connect_args.update(
                connect_timeout=max(2, math.ceil(self.connect_timeout)),
                options=settings,
                # A server that vanished without closing the socket is noticed within
                # tcp_user_timeout (data unacknowledged) or the keepalive probes (idle).
                tcp_user_timeout=statement_ms,
                keepalives=1,
                keepalives_idle=max(1, math.ceil(self.connect_timeout)),
                keepalives_interval=1,
                keepalives_count=3,
            )
        elif driver == "asyncpg":
            # asyncpg sends server_settings in its startup packet too.
            server_settings = {"statement_timeout": str(statement_ms)}
            if not self.durable:
                server_settings["synchronous_commit"] = "off"
            connect_args.update(timeout=self.connect_timeout, server_settings=server_settings)
        elif driver == "pymysql":
            connect_args.update(
                connect_timeout=self.connect_timeout,
                read_timeout=self.statement_timeout,
                write_timeout=self.statement_timeout,
            )
        elif driver == "asyncmy":
            connect_args["connect_timeout"] = self.connect_timeout
        options.update(self.extra)
        options["connect_args"] = {**connect_args, **self.extra.get("connect_args", {})}
        return options


def _create(factory: Callable[..., _T], url: URL, options: dict[str, Any], busy: float) -> _T:
    try:
        engine = factory(url, **options)
    except (sa_exc.ArgumentError, ImportError, TypeError) as exc:
        raise ConfigurationError(
            f"SQLAlchemyStore cannot build an engine for {url!r}: {exc}"
        ) from exc
    sync_engine = engine.sync_engine if isinstance(engine, AsyncEngine) else engine
    if url.get_backend_name() == "sqlite" and not is_memory(url):
        event.listen(sync_engine, "connect", _wal_mode(busy))
    return engine


def _wal_mode(busy: float) -> Callable[[Any, Any], None]:
    """A connect listener that puts the file in WAL mode, waiting up to ``busy`` seconds
    for the other connections to let it."""

    def use_wal(dbapi_connection: Any, _record: Any) -> None:
        # Readers and the writer of several processes proceed side by side in WAL mode.
        # Switching a fresh file to it needs the file to itself, and while another worker
        # writes there SQLite answers "database is locked" at once, whatever its busy
        # timeout. Once the file is in WAL mode, the statement takes no lock.
        deadline = time.monotonic() + busy
        pause = 0.005
        cursor = dbapi_connection.cursor()
        try:
            while True:
                try:
                    cursor.execute("PRAGMA journal_mode=WAL")
                    return
                except Exception as exc:
                    if "locked" not in str(exc) or time.monotonic() >= deadline:
                        raise
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        finally:
            cursor.close()

    return use_wal
