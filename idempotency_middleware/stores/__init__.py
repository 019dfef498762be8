"""Where records live: pick one store and share it between the workers of a deployment.

``MemoryStore`` keeps records in one process (tests, the demo, a single worker);
``SQLAlchemyStore`` keeps them in a table of SQLite, PostgreSQL or MySQL/MariaDB, and
``RedisStore`` in Redis, Redis Cluster or a Sentinel-watched Redis, which every worker
process sees. Backends' drivers are imported only when their store is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.memory import MemoryStore

if TYPE_CHECKING:
    from idempotency_middleware.stores.redis import RedisStore
    from idempotency_middleware.stores.sql import SQLAlchemyStore

__all__ = [
    "Backend",
    "MemoryStore",
    "RedisStore",
    "SQLAlchemyStore",
    "Store",
    "backend_of",
    "from_url",
]

Backend = Literal["memory", "sql", "redis"]
"""The kinds of store a URL names."""

_BACKENDS: dict[str, Backend] = {
    "memory": "memory",
    **dict.fromkeys(("sqlite", "postgresql", "postgres", "mysql", "mariadb"), "sql"),
    **dict.fromkeys(("redis", "rediss"), "redis"),
}


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].split("+", 1)[0].lower()


def backend_of(url: str) -> Backend | None:
    """The kind of store :func:`from_url` builds for ``url`` (``"memory"``, ``"sql"``
    or ``"redis"``), or None when its scheme is none of theirs."""
    return _BACKENDS.get(_scheme(url))


def from_url(url: str, **options: Any) -> Store:
    """Build a store from a URL: ``memory://``, ``sqlite:///path``,
    ``postgresql+psycopg://...``, ``mysql+pymysql://...``, ``redis://...``, ``rediss://...``,
    ``redis+cluster://host:port,...`` or ``redis+sentinel://host:port,.../service[/db]``;
    ``options`` go to the store."""
    scheme = _scheme(url)
    backend = _BACKENDS.get(scheme)
    if backend == "memory":
        return MemoryStore(**options)
    if backend == "sql":
        from idempotency_middleware.stores.sql import SQLAlchemyStore

        if scheme == "postgres":
            url = "postgresql" + url[len("postgres") :]
        store: Store = SQLAlchemyStore(url, **options)
        return store
    if backend == "redis":
        from idempotency_middleware.stores.redis import RedisStore

        return RedisStore(url, **options)
    raise ConfigurationError(
        f"store URL scheme {scheme!r} is not supported; use memory://, sqlite:///path, "
        "postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db or "
        "redis://host:port/db (redis+cluster://, redis+sentinel:// too)"
    )


def __getattr__(name: str) -> Any:
    # SQLAlchemy and redis-py are optional dependencies: import them only when their
    # store is asked for.
    if name == "SQLAlchemyStore":
        from idempotency_middleware.stores.sql import SQLAlchemyStore

        return SQLAlchemyStore
    if name == "RedisStore":
        from idempotency_middleware.stores.redis import RedisStore

        return RedisStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
