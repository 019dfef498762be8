"""The SQL of the database store: one conditional statement per operation, for each
database vendor Django supports that has an upsert (see stores/sql_statements.py for the
same statements built with SQLAlchemy)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper

from idempotency_middleware.stores.codec import RECORD_COLUMNS

__all__ = ["PURGE_BATCH", "SUPPORTED_VENDORS", "TABLE", "Statements", "statements"]

TABLE = "idempotency_records"
"""The table of the ``IdempotencyRecord`` model, laid out like ``SQLAlchemyStore``'s."""

SUPPORTED_VENDORS = frozenset({"postgresql", "mysql", "sqlite"})
"""Django's vendor names of the databases the statements are written for."""

PURGE_BATCH = 1000
"""Rows deleted per purge statement, so no purge holds locks on a large table for long."""

_INSERTED = ("key", *RECORD_COLUMNS, "created_at")
# MySQL and MariaDB assign left to right, each assignment seeing the ones before it:
# owner and expires_at go last, so the takeover condition gives the same answer for
# every column (as in stores/sql_statements.py). PostgreSQL and SQLite read the old row.
_ASSIGNED = (
    "state",
    "fingerprint",
    "status",
    "headers",
    "body",
    "replayable",
    "format_version",
    "created_at",
    "owner",
    "expires_at",
)


@dataclass(frozen=True)
class Statements:
    """The store's SQL for one database vendor; parameters are positional ``%s``."""

    claim: str
    claim_returns: bool
    get: str
    complete: str
    renew: str
    release: str
    forget: str
    clear: str
    purge: str
    stats: str


def statements(connection: BaseDatabaseWrapper) -> Statements:
    q = connection.ops.quote_name
    table = q(TABLE)
    returned = ", ".join(q(column) for column in RECORD_COLUMNS)
    insert = (
        f"INSERT INTO {table} ({', '.join(q(column) for column in _INSERTED)}) "
        "VALUES (%s, 'in_progress', %s, %s, %s, NULL, NULL, NULL, FALSE, %s, %s)"
    )
    # A standing row is taken over when it has expired (a dead worker's lease, a record
    # past retention) or when it is this very claim arriving again; the new row's
    # created_at is the claim's "now".
    if connection.vendor == "mysql":
        takeover = (
            f"{q('expires_at')} <= VALUES({q('created_at')}) OR "
            f"({q('state')} = 'in_progress' AND {q('owner')} = VALUES({q('owner')}))"
        )
        assignments = ", ".join(
            f"{q(c)} = IF({takeover}, VALUES({q(c)}), {q(c)})" for c in _ASSIGNED
        )
        claim = f"{insert} ON DUPLICATE KEY UPDATE {assignments}"
    else:
        old = f"{table}."
        takeover = (
            f"{old}{q('expires_at')} <= excluded.{q('created_at')} OR "
            f"({old}{q('state')} = 'in_progress' AND {old}{q('owner')} = excluded.{q('owner')})"
        )
        assignments = ", ".join(
            f"{q(c)} = CASE WHEN {takeover} THEN excluded.{q(c)} ELSE {old}{q(c)} END"
            for c in _ASSIGNED
        )
        claim = f"{insert} ON CONFLICT ({q('key')}) DO UPDATE SET {assignments}"
    # MariaDB returns the row as the upsert left it; MySQL has no RETURNING, and reads
    # the row back (as would any database Django stopped describing this way).
    claim_returns = bool(getattr(connection.features, "can_return_columns_from_insert", False))
    if claim_returns:
        claim += f" RETURNING {returned}"
    held = f"{q('key')} = %s AND {q('owner')} = %s AND {q('state')} = 'in_progress'"
    expired = f"{q('expires_at')} <= %s"
    live = f"{q('expires_at')} > %s"
    # In progress, completed, expired; SUM over no rows is NULL.
    counts = ", ".join(
        f"COALESCE(SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), 0)"
        for condition in (
            f"{q('state')} = 'in_progress' AND {live}",
            f"{q('state')} = 'completed' AND {live}",
            expired,
        )
    )
    if connection.vendor == "mysql":
        purge = f"DELETE FROM {table} WHERE {expired} LIMIT {PURGE_BATCH}"
    else:
        batch = f"SELECT {q('key')} FROM {table} WHERE {expired} LIMIT {PURGE_BATCH}"
        purge = f"DELETE FROM {table} WHERE {q('key')} IN ({batch})"
    return Statements(
        claim=claim,
        claim_returns=claim_returns,
        get=f"SELECT {returned} FROM {table} WHERE {q('key')} = %s AND {q('expires_at')} > %s",
        complete=(
            f"UPDATE {table} SET {q('state')} = 'completed', {q('status')} = %s, "
            f"{q('headers')} = %s, {q('body')} = %s, {q('replayable')} = %s, "
            f"{q('format_version')} = %s, {q('expires_at')} = %s WHERE {held}"
        ),
        renew=f"UPDATE {table} SET {q('expires_at')} = %s WHERE {held}",
        release=f"DELETE FROM {table} WHERE {held}",
        forget=f"DELETE FROM {table} WHERE {q('key')} = %s",
        clear=f"DELETE FROM {table}",
        purge=purge,
        stats=f"SELECT {counts} FROM {table}",
    )
