"""The servers the store variants talk to, the names this run uses on them, and cleanup.

Every name (Redis key prefix, table) starts with the run's tag, so a run never touches
another engineer's data, and cleanup deletes exactly what the run created (never
``FLUSHDB``).
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import sqlalchemy as sa

__all__ = ["Address", "Services", "delete_redis_keys", "delete_rows", "reachable"]

Address = tuple[str, int]


@dataclass(frozen=True)
class Services:
    """Where the servers are, and the names this run uses on them."""

    postgres_url: str
    redis_url: str
    tag: str
    sqlite_dir: Path

    @classmethod
    def create(cls, postgres_url: str, redis_url: str, tag: str) -> Services:
        sqlite_dir = Path(tempfile.mkdtemp(prefix=f"{tag}_"))
        return cls(postgres_url, redis_url, tag, sqlite_dir)

    @property
    def postgres(self) -> Address:
        url = sa.make_url(self.postgres_url)
        return url.host or "127.0.0.1", url.port or 5432

    @property
    def redis(self) -> Address:
        parts = urlsplit(self.redis_url)
        return parts.hostname or "127.0.0.1", parts.port or 6379

    @property
    def asyncpg_url(self) -> str:
        """The PostgreSQL URL in the form asyncpg takes."""
        url = sa.make_url(self.postgres_url).set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    def table(self, owner: str) -> str:
        """The table of one variant family on PostgreSQL."""
        return f"{self.tag}_{owner}"

    def prefix(self, owner: str) -> str:
        """The Redis key prefix of one variant family."""
        return f"{self.tag}:{owner}:"

    def sqlite_url(self, owner: str) -> str:
        return f"sqlite:///{self.sqlite_dir / owner}.db"

    def via(self, postgres: Address | None, redis_address: Address | None) -> Services:
        """The same names, reached through other addresses (a counting proxy)."""
        postgres_url, redis_url = self.postgres_url, self.redis_url
        if postgres is not None:
            url = sa.make_url(postgres_url).set(host=postgres[0], port=postgres[1])
            postgres_url = url.render_as_string(hide_password=False)
        if redis_address is not None:
            parts = urlsplit(redis_url)
            netloc = f"{redis_address[0]}:{redis_address[1]}"
            redis_url = urlunsplit(parts._replace(netloc=netloc))
        return dataclasses.replace(self, postgres_url=postgres_url, redis_url=redis_url)

    def cleanup(self) -> None:
        """Drop the run's tables, delete its Redis keys and its SQLite files."""
        if reachable(self, "postgres") is None:
            engine = sa.create_engine(self.postgres_url)
            try:
                with engine.begin() as conn:
                    names = sa.inspect(conn).get_table_names()
                    for name in names:
                        if name.startswith(self.tag):
                            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}"'))
            finally:
                engine.dispose()
        if reachable(self, "redis") is None:
            delete_redis_keys(self.redis_url, f"{self.tag}:")
        for path in self.sqlite_dir.glob("*"):
            path.unlink()
        self.sqlite_dir.rmdir()


def reachable(services: Services, name: str) -> str | None:
    """None when server ``name`` answers, else why not."""
    try:
        if name == "postgres":
            engine = sa.create_engine(services.postgres_url, connect_args={"connect_timeout": 2})
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
            finally:
                engine.dispose()
        elif name == "redis":
            client = redis.Redis.from_url(services.redis_url, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
    except Exception as exc:  # any driver error means the same: skip its variants
        return f"{name} unreachable ({type(exc).__name__}: {exc})"
    return None


def delete_redis_keys(redis_url: str, prefix: str) -> None:
    """Delete every key under ``prefix``: a variant's reset between measurements."""
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


def delete_rows(postgres_url: str, table: str) -> None:
    """Empty ``table``: a variant's reset between measurements."""
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DELETE FROM "{table}"'))
    finally:
        engine.dispose()
