"""The records table, made by the database store itself when no migration made it.

The one-line set-up (the ``MIDDLEWARE`` line alone) keeps its records in the project's
database without ``"idempotency_middleware.django"`` in INSTALLED_APPS, so ``migrate``
never creates their table: the store creates it at its first statement, with the SQL
Django's schema editor writes for the app's initial migration, and records that
migration as applied, so installing the app later and running ``migrate`` finds nothing
to do. Several workers may start at once: whoever loses the race to create the table
finds it made by the winner.
"""

from __future__ import annotations

from importlib import import_module

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.migrations.recorder import MigrationRecorder
from django.db.migrations.state import ProjectState

from idempotency_middleware.django.database_sql import TABLE
from idempotency_middleware.errors import StoreError

__all__ = ["ensure_table"]

_APP_LABEL = "idempotency"
_MIGRATION = "0001_initial"
_ATTEMPTS = 5


def _creation_sql(connection: BaseDatabaseWrapper) -> list[str]:
    """The statements ``migrate`` would run for the table on this database."""
    migration = import_module(f"idempotency_middleware.django.migrations.{_MIGRATION}")
    state = ProjectState()
    (create,) = migration.Migration.operations
    create.state_forwards(_APP_LABEL, state)
    model = state.apps.get_model(_APP_LABEL, create.name)
    # Collected, not executed, and the editor not entered: SQLite's refuses to open
    # inside a transaction, such as a TestCase's, while plain DDL runs there. Entering
    # would only start the list of statements it runs last (the index).
    editor = connection.schema_editor(collect_sql=True)
    editor.deferred_sql = []
    editor.create_model(model)
    return [*editor.collected_sql, *(f"{statement};" for statement in editor.deferred_sql)]


def _exists(connection: BaseDatabaseWrapper, cursor: CursorWrapper) -> bool:
    return TABLE in connection.introspection.table_names(cursor)


def _create(connection: BaseDatabaseWrapper, cursor: CursorWrapper) -> None:
    # One transaction where the database has transactional DDL (PostgreSQL, SQLite): a
    # worker sees the table with its index and its migration recorded, or nothing.
    with transaction.atomic(using=connection.alias):
        for statement in _creation_sql(connection):
            cursor.execute(statement)
        recorder = MigrationRecorder(connection)
        if recorder.has_table():
            recorder.record_applied(_APP_LABEL, _MIGRATION)


def ensure_table(connection: BaseDatabaseWrapper, cursor: CursorWrapper) -> None:
    """Create the records table unless it exists.

    A creation that fails because another worker created the table at the same moment
    (PostgreSQL's duplicate type, MySQL's and SQLite's "already exists", SQLite's lock)
    is followed by another look, so every worker ends with the one table.
    """
    failure: DatabaseError | None = None
    for _ in range(_ATTEMPTS):
        if _exists(connection, cursor):
            return
        try:
            _create(connection, cursor)
        except DatabaseError as exc:
            failure = exc
        else:
            return
    raise StoreError(
        f"database {connection.alias!r}: cannot create the table {TABLE!r}: {failure}; "
        'create it with "idempotency_middleware.django" in INSTALLED_APPS and '
        "manage.py migrate"
    ) from failure
