"""The database servers the tests run against, and SQL stores on throwaway tables.

The servers are required: a test that cannot reach one fails, it is never skipped. The
URLs can be moved with the ``IDEMPOTENCY_TEST_POSTGRES_URL`` and
``IDEMPOTENCY_TEST_MARIADB_URL`` environment variables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from idempotency_middleware.stores.sql import SQLAlchemyStore, make_table
from tests.support.proxy import Proxy

__all__ = [
    "MARIADB_URL",
    "POSTGRES_URL",
    "SERVER_URLS",
    "address",
    "claim_in_process",
    "count_rows",
    "create_in_process",
    "drop_table",
    "sql_store",
    "sqlite_url",
    "throwaway_database",
    "unique_table_name",
]

POSTGRES_URL = os.environ.get(
    "IDEMPOTENCY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get(
    "IDEMPOTENCY_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
)
SERVER_URLS = {"postgres": POSTGRES_URL, "mariadb": MARIADB_URL}
"""The database servers by store kind."""


def sqlite_url(directory: Path) -> str:
    """A SQLite database file in ``directory``."""
    return f"sqlite:///{directory / 'idempotency.db'}"


def unique_table_name() -> str:
    """A table name no other test, run or parallel worker uses."""
    return f"idem_{os.getpid()}_{secrets.token_hex(6)}"


def address(url: str) -> tuple[str, int]:
    """The host and port of a server URL."""
    parsed = sa.make_url(url)
    assert parsed.host is not None, url
    assert parsed.port is not None, url
    return parsed.host, parsed.port


def count_rows(url: str | sa.URL, table_name: str) -> int:
    """How many rows ``table_name`` holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            table = sa.table(table_name)
            query = sa.select(sa.func.count()).select_from(table)
            return int(connection.execute(query).scalar_one())
    finally:
        engine.dispose()


def drop_table(url: str, table_name: str) -> None:
    """Drop ``table_name`` if it exists."""
    engine = sa.create_engine(url)
    try:
        make_table(sa.MetaData(), table_name).drop(engine, checkfirst=True)
    finally:
        engine.dispose()


@contextmanager
def throwaway_database(server_url: str = POSTGRES_URL) -> Iterator[sa.URL]:
    """A new, empty database on the PostgreSQL server of ``server_url``, named for this
    process alone and dropped afterwards (with whatever still holds a connection to it)."""
    name = f"idem_{os.getpid()}_{secrets.token_hex(6)}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield sa.make_url(server_url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sql_store(
    url: str, *, proxy: Proxy | None = None, table_name: str | None = None, **options: Any
) -> Iterator[SQLAlchemyStore]:
    """A store on a fresh table of ``url`` (reached through ``proxy`` if given), dropped
    afterwards. The caller closes the async face on its own loop."""
    table_name = table_name or unique_table_name()
    store_url = url if proxy is None else proxy.url(url)
    store = SQLAlchemyStore(store_url, table_name=table_name, **options)
    try:
        yield store
    finally:
        store.close()
        drop_table(url, table_name)


def claim_in_process(
    url: str, table_name: str, key: str, owner: str, start: Barrier, results: Queue[str]
) -> None:
    """Connect, wait for the other processes, then claim ``key`` once (a process target).

    Puts ``"claimed"``, ``"refused"`` or the error on ``results``.
    """
    try:
        store = SQLAlchemyStore(url, table_name=table_name, create_table=False)
        try:
            store.get(key)  # connected before the race starts
            start.wait(timeout=60)
            claimed = store.claim(key, owner, "fingerprint", 60.0).claimed
        finally:
            store.close()
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
    else:
        results.put("claimed" if claimed else "refused")


def create_in_process(url: str, table_name: str, start: Barrier, results: Queue[str]) -> None:
    """Wait for the other processes, then start a store that creates its table (a process
    target). Puts ``"ok"`` or the error on ``results``."""
    try:
        start.wait(timeout=60)
        SQLAlchemyStore(url, table_name=table_name).close()
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
    else:
        results.put("ok")
