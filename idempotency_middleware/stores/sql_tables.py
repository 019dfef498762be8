"""Creating the records table of :class:`~idempotency_middleware.stores.sql.SQLAlchemyStore`
at start-up, when every worker of a server may do it at the same instant.

Looking for the table and then creating it is a race: another worker can create it in
between. So the table and its index are created with ``IF NOT EXISTS``; and since that
still races on some databases (PostgreSQL can answer a duplicate key in its catalog,
SQLite "database is locked"), an error after which the table stands complete is
success, and a lock is waited out.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.schema import CreateIndex, CreateTable

from idempotency_middleware.stores.sql_connections import DRIVER_ERRORS, store_error

__all__ = ["create_table"]


def create_table(engine: Engine, table: sa.Table, *, timeout: float) -> None:
    """Create ``table`` and its indexes where missing, trying for up to ``timeout``
    seconds while other workers hold locks; :class:`StoreError` on any other failure."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        try:
            with engine.connect() as conn:
                _create(conn, table)
            return
        except DRIVER_ERRORS as exc:
            if _stands(engine, table):
                return  # another worker made it
            if not _locked(exc) or time.monotonic() >= deadline:
                raise store_error(exc) from exc
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


def _create(conn: Connection, table: sa.Table) -> None:
    conn.execute(CreateTable(table, if_not_exists=True))
    # MySQL, unlike MariaDB, has no CREATE INDEX IF NOT EXISTS.
    mysql = conn.dialect.name == "mysql" and not getattr(conn.dialect, "is_mariadb", False)
    for index in table.indexes:
        if mysql and _has_index(conn, table, index):
            continue
        conn.execute(CreateIndex(index, if_not_exists=not mysql))


def _stands(engine: Engine, table: sa.Table) -> bool:
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).has_table(table.name, schema=table.schema) and all(
                _has_index(conn, table, index) for index in table.indexes
            )
    except DRIVER_ERRORS:
        return False


def _has_index(conn: Connection, table: sa.Table, index: sa.Index) -> bool:
    return sa.inspect(conn).has_index(table.name, str(index.name), schema=table.schema)


def _locked(exc: BaseException) -> bool:
    # SQLite's "database is locked", MySQL's lock wait timeout and deadlock (1205, 1213),
    # PostgreSQL's lock_not_available and deadlock_detected: another creator's turn.
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "locked" in text or "lock wait" in text or "deadlock" in text
