"""A store in the project's database, through Django's own connection.

``IDEMPOTENCY_STORE = "database"`` with ``"idempotency_middleware.django"`` in
INSTALLED_APPS and its migration applied; also the default where Django's cache is local
to each process, with the table created on first use when the app is not installed
(see :mod:`~idempotency_middleware.django.database_table`).

Every operation is one conditional statement, as in
:mod:`~idempotency_middleware.stores.sql_statements`: a claim is an upsert that inserts,
takes over an expired record, or leaves the standing one and returns it (PostgreSQL and
SQLite ``ON CONFLICT``, MySQL and MariaDB ``ON DUPLICATE KEY UPDATE``); completing,
renewing and releasing check the owner token in their ``WHERE``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    Error,
    InterfaceError,
    OperationalError,
    connections,
    transaction,
)
from django.db.backends.utils import CursorWrapper

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.django.database_sql import PURGE_BATCH, Statements, statements
from idempotency_middleware.django.database_table import ensure_table
from idempotency_middleware.django.threaded import ThreadedStore
from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores.base import RecordCounts
from idempotency_middleware.stores.codec import FORMAT_VERSION, decode_row, encode_headers

__all__ = ["DatabaseStore"]

_T = TypeVar("_T")

_IN_TRANSACTION = (
    "the idempotency database store was called inside a transaction on database {alias!r}: "
    "a claim written there is invisible to the other workers until it commits. Keep "
    "IdempotencyMiddleware outside code that opens transactions (ATOMIC_REQUESTS wraps "
    "only the view, which is fine), or give the store a database alias of its own "
    "(IDEMPOTENCY_DATABASE)"
)


class DatabaseStore(ThreadedStore):
    """Records in the ``idempotency_records`` table, on the connection of database
    ``using`` (``IDEMPOTENCY_DATABASE``, default ``"default"``): PostgreSQL, MySQL,
    MariaDB or SQLite.

    Transactions: the middleware claims before the view runs and completes after it
    returned, so with ``ATOMIC_REQUESTS`` (which wraps only the view) every statement
    runs in autocommit and commits at once: a claim is seen by every worker the moment
    it is made, and the view's own transaction has committed before the record
    completes. Called inside a transaction, the store raises
    :class:`~idempotency_middleware.errors.ConfigurationError` instead of writing a
    claim no other worker could see, except inside a ``TestCase``'s transaction (the rule
    of Django's ``atomic(durable=True)``), where records roll back with the test. Where
    your own code wraps the middleware in a transaction, give the store an alias of its
    own: a second DATABASES entry for the same database, migrated too.

    With ``create_table``, the store creates its table at its first statement unless it
    exists, as the app's migration would: for the default store of a project without the
    app in INSTALLED_APPS.

    Being Django's connection, it has Django's timeouts: set ``connect_timeout`` (and a
    statement timeout) in the alias's OPTIONS. The async face runs the sync one in the
    request's thread (as Django's async ORM does), so it shares the request's connection.
    """

    def __init__(
        self,
        using: str = DEFAULT_DB_ALIAS,
        *,
        create_table: bool = False,
        clock: Clock = system_clock,
    ) -> None:
        self.using = using
        self._clock = clock
        self._sql: Statements | None = None
        self._table_missing = create_table

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        now = self._clock()
        params = (key, owner, fingerprint, now + lease, FORMAT_VERSION, now)
        record = decode_row(self._run(lambda cursor, sql: _claim(cursor, sql, params, now)))
        claimed = record.owner == owner and record.state is RecordState.IN_PROGRESS
        return Claim(claimed=claimed, record=record, now=now)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        stored = (
            (None, None, None, False)
            if response is None
            else (response.status, encode_headers(response.headers), response.body, True)
        )
        params = (*stored, FORMAT_VERSION, self._clock() + ttl, key, owner)
        return self._count(lambda sql: sql.complete, params) == 1

    def renew(self, key: str, owner: str, lease: float) -> bool:
        return self._count(lambda sql: sql.renew, (self._clock() + lease, key, owner)) == 1

    def release(self, key: str, owner: str) -> bool:
        return self._count(lambda sql: sql.release, (key, owner)) == 1

    def get(self, key: str) -> Record | None:
        row = self._run(lambda cursor, sql: _fetch(cursor, sql.get, (key, self._clock())))
        return None if row is None else decode_row(row)

    def purge(self) -> int:
        now = self._clock()

        def purge(cursor: CursorWrapper, sql: Statements) -> int:
            purged = 0
            while True:
                cursor.execute(sql.purge, (now,))
                count: int = cursor.rowcount
                purged += count
                if count < PURGE_BATCH:
                    return purged

        return self._run(purge)

    def forget(self, key: str) -> bool:
        return self._count(lambda sql: sql.forget, (key,)) == 1

    def stats(self) -> RecordCounts:
        now = self._clock()
        row = self._run(lambda cursor, sql: _fetch(cursor, sql.stats, (now, now, now)))
        assert row is not None  # an aggregate always answers one row
        return RecordCounts(*(int(count) for count in row))

    def clear(self) -> None:
        self._count(lambda sql: sql.clear, ())

    def close(self) -> None:
        """Close this thread's connection to the database, unless it is in a transaction."""
        connection = connections[self.using]
        if not connection.in_atomic_block:
            connection.close()

    def _count(self, statement: Callable[[Statements], str], params: tuple[Any, ...]) -> int:
        def execute(cursor: CursorWrapper, sql: Statements) -> int:
            cursor.execute(statement(sql), params)
            count: int = cursor.rowcount
            return count

        return self._run(execute)

    def _run(self, operation: Callable[[CursorWrapper, Statements], _T]) -> _T:
        connection = connections[self.using]
        try:
            with ExitStack() as stack:
                if connection.in_atomic_block:
                    try:
                        # A savepoint inside a TestCase; a RuntimeError inside any other
                        # transaction.
                        stack.enter_context(transaction.atomic(using=self.using, durable=True))
                    except RuntimeError as exc:
                        raise ConfigurationError(_IN_TRANSACTION.format(alias=self.using)) from exc
                with connection.cursor() as cursor:
                    if self._table_missing:
                        ensure_table(connection, cursor)
                        # A table made inside a transaction (a TestCase's) may roll back.
                        self._table_missing = connection.in_atomic_block
                    if self._sql is None:
                        self._sql = statements(connection)
                    return operation(cursor, self._sql)
        except Error as exc:
            if isinstance(exc, (OperationalError, InterfaceError)) and not (
                connection.in_atomic_block
            ):
                # The connection may be dead (a restarted server): the next operation
                # opens a new one. Django only checks at the start of a request, and the
                # renewer's thread never starts one.
                connection.close()
            raise StoreError(f"database {self.using!r}: {type(exc).__name__}: {exc}") from exc


def _claim(
    cursor: CursorWrapper, sql: Statements, params: tuple[Any, ...], now: float
) -> Sequence[Any]:
    if sql.claim_returns:
        row = _fetch(cursor, sql.claim, params)
        assert row is not None  # an upsert always leaves its row
        return row
    # MySQL: read the row back. A row gone or expired by then means the claim must run
    # again; a live one is the record that stands at that instant.
    for _ in range(3):
        cursor.execute(sql.claim, params)
        row = _fetch(cursor, sql.get, (params[0], now))
        if row is not None:
            return row
    raise StoreError("the record changed under three claims in a row")


def _fetch(cursor: CursorWrapper, sql: str, params: tuple[Any, ...]) -> Sequence[Any] | None:
    cursor.execute(sql, params)
    row: Sequence[Any] | None = cursor.fetchone()
    return row
