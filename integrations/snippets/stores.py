"""One store per deployment shape; every worker process must reach the same one.

Each function holds the lines its page shows, imports included, so each block runs
pasted alone; the SQLite file lands in the working directory.
"""

from __future__ import annotations

from idempotency_middleware.stores import Store

__all__ = [
    "cluster_store",
    "from_environment",
    "memory_store",
    "mysql_store",
    "postgres_store",
    "redis_store",
    "sqlite_store",
]


def memory_store() -> Store:
    """Tests and a single process."""
    # [start:memory]
    from idempotency_middleware.stores import MemoryStore

    store = MemoryStore()
    # [end:memory]
    return store


def sqlite_store() -> Store:
    """Several worker processes on one machine."""
    # [start:sqlite]
    from idempotency_middleware.stores import SQLAlchemyStore

    store = SQLAlchemyStore("sqlite:///idempotency.db")
    # [end:sqlite]
    return store


def postgres_store() -> Store:
    """Workers on several machines sharing a PostgreSQL database."""
    # [start:postgres]
    from idempotency_middleware.stores import SQLAlchemyStore

    store = SQLAlchemyStore("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    # [end:postgres]
    return store


def mysql_store() -> Store:
    """The same on MariaDB or MySQL."""
    # [start:mysql]
    from idempotency_middleware.stores import SQLAlchemyStore

    store = SQLAlchemyStore("mysql+pymysql://root@127.0.0.1:3306/test")
    # [end:mysql]
    return store


def redis_store() -> Store:
    """Workers on several machines sharing a Redis server."""
    # [start:redis]
    from idempotency_middleware.stores import RedisStore

    store = RedisStore("redis://127.0.0.1:6379/0", prefix="orders-api:")
    # [end:redis]
    return store


def cluster_store() -> Store:
    """A Redis Cluster, named by some of its nodes; the client finds the rest."""
    # [start:cluster]
    from idempotency_middleware.stores import RedisStore

    store = RedisStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000")
    # [end:cluster]
    return store


def from_environment() -> Store:
    """The store a URL names, so each environment picks its own by configuration."""
    # [start:url]
    import os

    from idempotency_middleware.stores import from_url

    # memory://, sqlite:///..., postgresql+psycopg://..., redis://...
    store = from_url(os.environ["IDEMPOTENCY_STORE_URL"])
    # [end:url]
    return store
