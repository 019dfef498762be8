"""Stores on the shared servers for the command-line tests, each with the arguments
that point ``idempotency-middleware --store ...`` at the same table or key prefix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.stores.base import Store
from tests.redis.servers import REDIS_URL, redis_store
from tests.stores.faces import database_url
from tests.support.databases import sql_store

__all__ = ["Target"]


@dataclass
class Target:
    """A store of one kind and the command-line arguments that reach it."""

    kind: str
    store: Store
    arguments: list[str]

    @property
    def is_sql(self) -> bool:
        return self.kind != "redis"


def open_target(kind: str, directory: Path, clock: Clock = system_clock) -> Iterator[Target]:
    """A store of ``kind`` on a table or prefix of its own, emptied afterwards."""
    if kind == "redis":
        with redis_store(clock=clock) as redis:
            yield Target(kind, redis, ["--store", REDIS_URL, "--prefix", redis.prefix])
        return
    url = database_url(kind, directory)
    with sql_store(url, clock=clock) as store:
        yield Target(kind, store, ["--store", url, "--table", store.table.name])


KINDS = [
    pytest.param("sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("redis"),
]


@pytest.fixture(params=KINDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    """A SQLite, PostgreSQL, MariaDB or Redis store and the arguments that reach it."""
    yield from open_target(request.param, tmp_path)
