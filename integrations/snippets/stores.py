"""One store per deployment shape; every worker process must reach the same one."""

from __future__ import annotations

from idempotency_middleware.stores import MemoryStore, RedisStore, SQLAlchemyStore, Store, from_url

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
    store = MemoryStore()
    # [end:memory]
    return store


def sqlite_store(path: str) -> Store:
    """Several worker processes on one machine."""
    # [start:sqlite]
    store = SQLAlchemyStore(f"sqlite:///{path}")
    # [end:sqlite]
    return store


def postgres_store() -> Store:
    """Workers on several machines sharing a PostgreSQL database."""
    # [start:postgres]
    store = SQLAlchemyStore("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    # [end:postgres]
    return store


def mysql_store() -> Store:
    """The same on MariaDB or MySQL."""
    # [start:mysql]
    store = SQLAlchemyStore("mysql+pymysql://root@127.0.0.1:3306/test")
    # [end:mysql]
    return store


def redis_store() -> Store:
    """Workers on several machines sharing a Redis server."""
    # [start:redis]
    store = RedisStore("redis://127.0.0.1:6379/0", prefix="orders-api:")
    # [end:redis]
    return store


def cluster_store() -> Store:
    """A Redis Cluster, named by some of its nodes; the client finds the rest."""
    # [start:cluster]
    store = RedisStore("redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000")
    # [end:cluster]
    return store


def from_environment(url: str) -> Store:
    """The store a URL names, so each environment picks its own by configuration."""
    # [start:url]
    store = from_url(url)  # memory://, sqlite:///..., postgresql+psycopg://..., redis://...
    # [end:url]
    return store
