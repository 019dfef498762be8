"""The database store's own table, for projects without the app in INSTALLED_APPS:
workers that start at once on a database without it all succeed, one of them claims,
and the table is the migration's, with the migration recorded as applied."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder

from idempotency_middleware.django import DatabaseStore
from idempotency_middleware.django.database_sql import TABLE

WORKERS = 8
KEY = "a" * 64


def _shape(alias: str) -> tuple[list[tuple[Any, ...]], list[list[str]]]:
    """The table's columns (name, type, nullable) and the columns of its indexes."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        columns = [
            (column.name, column.type_code, column.null_ok)
            for column in connection.introspection.get_table_description(cursor, TABLE)
        ]
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    indexes = sorted(c["columns"] for c in constraints.values() if c["index"] and not c["unique"])
    return columns, indexes


def _applied(alias: str) -> bool:
    return ("idempotency", "0001_initial") in MigrationRecorder(
        connections[alias]
    ).applied_migrations()


def _drop(alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {connection.ops.quote_name(TABLE)}")
    MigrationRecorder(connection).migration_qs.filter(app="idempotency").delete()


def _claim_at_once(alias: str) -> list[bool]:
    start = threading.Barrier(WORKERS)

    def claim(number: int) -> bool:
        # A store each, on a connection each, as in worker processes.
        store = DatabaseStore(alias, create_table=True)
        try:
            start.wait(timeout=30)
            return store.claim(KEY, f"owner-{number}", "fingerprint", 60.0).claimed
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WORKERS) as pool:
        return list(pool.map(claim, range(WORKERS)))


@pytest.mark.parametrize(
    "alias",
    [
        pytest.param("default", id="sqlite"),
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ],
)
def test_workers_starting_at_once_make_one_table_as_the_migration_would(
    alias: str, request: pytest.FixtureRequest
) -> None:
    request.getfixturevalue({"default": "sqlite_db"}.get(alias, f"{alias}_db"))
    migrated = _shape(alias)
    _drop(alias)
    try:
        outcomes = _claim_at_once(alias)
        made = _shape(alias)
        applied = _applied(alias)
    finally:
        DatabaseStore(alias, create_table=True).clear()  # the table, for the other tests
        connections[alias].close()

    assert sorted(outcomes) == [False] * (WORKERS - 1) + [True]
    assert made == migrated
    assert applied
