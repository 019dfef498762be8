"""The table and the statements of :class:`~idempotency_middleware.stores.sql.SQLAlchemyStore`.

Each operation is one statement, built once per store and run by both faces. The claim
is an upsert whose every assignment keeps the standing row unless it may be taken over,
so that it always touches (and, where RETURNING exists, returns) exactly one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.dml import Delete, Insert, Update

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.stores.codec import FORMAT_VERSION, RECORD_COLUMNS, decode_row

__all__ = ["PURGE_BATCH", "Statements", "idempotency_records", "make_table", "to_record"]

PURGE_BATCH = 1000
"""Rows deleted per purge statement, so no purge holds locks on a large table for long."""

_ASCII = sa.String(64).with_variant(
    # Keys and tokens are hex digests: one byte per character and exact comparison
    # instead of MySQL's four-byte, case-insensitive default collation.
    mysql.VARCHAR(64, charset="ascii", collation="ascii_bin"),
    "mysql",
    "mariadb",
)


def make_table(
    metadata: sa.MetaData, name: str = "idempotency_records", schema: str | None = None
) -> sa.Table:
    """Define the records table on ``metadata``, for stores and for Alembic migrations.

    ``expires_at`` is the lease expiry while a record is in progress and the retention
    expiry once it is completed, in seconds since the epoch on the store's clock.
    ``replayable`` is False for a record that completed without a stored response.
    """
    return sa.Table(
        name,
        metadata,
        sa.Column("key", _ASCII, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", _ASCII, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.LargeBinary(), nullable=True),
        sa.Column(
            "body",
            # MySQL's BLOB stops at 64 KiB; captured bodies reach several MiB.
            sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("replayable", sa.Boolean(), nullable=False),
        sa.Column("format_version", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Index(f"ix_{name}_expires_at", "expires_at"),
        schema=schema,
    )


idempotency_records = make_table(sa.MetaData())
"""The default table on its own MetaData, for ``target_metadata`` in Alembic's env.py."""


class Statements:
    """The statements of one table on one dialect family.

    Parameters are bound by the column name with a ``p_`` prefix (SQLAlchemy reserves
    the bare names of the columns an UPDATE sets), plus ``p_now``.
    """

    def __init__(self, table: sa.Table, dialect_name: str) -> None:
        c = table.c
        returned = [c[name] for name in RECORD_COLUMNS]
        now: sa.BindParameter[float] = sa.bindparam("p_now", type_=sa.Double())
        new_row: dict[str, Any] = {
            "key": sa.bindparam("p_key", type_=c.key.type),
            "state": RecordState.IN_PROGRESS.value,
            "owner": sa.bindparam("p_owner", type_=c.owner.type),
            "fingerprint": sa.bindparam("p_fingerprint", type_=c.fingerprint.type),
            "expires_at": sa.bindparam("p_expires_at", type_=sa.Double()),
            "status": None,
            "headers": None,
            "body": None,
            "replayable": False,
            "format_version": FORMAT_VERSION,
            "created_at": now,
        }
        # The standing row may be taken over when it has expired (a dead worker's lease
        # or a record past retention), or when it is this very claim arriving again.
        # owner and expires_at are assigned last: MySQL and MariaDB evaluate the
        # assignments left to right against the row as updated so far. Until expires_at
        # changes, the condition gives the same answer for every column: after a
        # takeover state and owner already read "in progress, ours", otherwise nothing
        # has changed. PostgreSQL and SQLite read the old row throughout.
        update_order = [name for name in new_row if name not in ("key", "owner", "expires_at")]
        update_order += ["owner", "expires_at"]

        self.claim_without_returning: Insert | None = None
        """MySQL's claim for servers without RETURNING, to be followed by :attr:`get`."""
        self.claim_or_read: CompoundSelect[Any] | None = None
        """PostgreSQL's claim that writes nothing when a record stands that it may not
        take over; its rows end with ``settled``, false when the record may be taken
        over, so that :attr:`claim` must run."""
        claim: Insert
        if dialect_name in ("postgresql", "sqlite"):
            upsert = (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(
                table
            ).values(new_row)
            takeover = _takeover(table, now, upsert.excluded.owner)
            claim = upsert.on_conflict_do_update(
                index_elements=[c.key],
                set_={
                    name: sa.case((takeover, upsert.excluded[name]), else_=c[name])
                    for name in update_order
                },
            ).returning(*returned)
            if dialect_name == "postgresql":
                # The upsert writes the row even when every assignment keeps it: it
                # locks the row, a WAL record in a transaction whose commit waits for
                # the WAL flush. A replay must not pay that, so the claim first inserts
                # only where the key is free and reads the record that stands otherwise.
                # (SQLite's write is a page in its WAL, cheaper than a second statement.)
                settled = sa.not_(_takeover(table, now, sa.bindparam("p_owner")))
                standing = sa.select(*returned, settled.label("settled"))
                self.claim_or_read = _insert_or_read(
                    postgresql.insert(table).values(new_row),
                    standing.where(c.key == sa.bindparam("p_key")),
                    returned,
                )
        elif dialect_name in ("mysql", "mariadb"):
            odku = mysql.insert(table).values(new_row)
            takeover = _takeover(table, now, odku.inserted.owner)
            claim = odku.on_duplicate_key_update(
                [
                    (name, sa.case((takeover, odku.inserted[name]), else_=c[name]))
                    for name in update_order
                ]
            )
            # A replay writes nothing here already: InnoDB leaves a row whose every
            # assignment keeps its value unchanged (no undo, no redo to flush).
            self.claim_without_returning = claim
            claim = claim.returning(*returned)
        else:
            raise ConfigurationError(
                f"SQLAlchemyStore supports PostgreSQL, MySQL, MariaDB and SQLite, "
                f"not {dialect_name!r}: pass one of their URLs as url_or_engine"
            )
        self.claim = claim

        held = sa.and_(
            c.key == sa.bindparam("p_key"),
            c.owner == sa.bindparam("p_owner"),
            c.state == RecordState.IN_PROGRESS.value,
        )
        self.complete: Update = (
            sa.update(table)
            .where(held)
            .values(
                state=RecordState.COMPLETED.value,
                status=sa.bindparam("p_status"),
                headers=sa.bindparam("p_headers"),
                body=sa.bindparam("p_body"),
                replayable=sa.bindparam("p_replayable"),
                format_version=FORMAT_VERSION,
                expires_at=sa.bindparam("p_expires_at"),
            )
        )
        self.renew: Update = (
            sa.update(table).where(held).values(expires_at=sa.bindparam("p_expires_at"))
        )
        self.release: Delete = sa.delete(table).where(held)
        self.get = sa.select(*returned).where(c.key == sa.bindparam("p_key"), c.expires_at > now)
        self.forget: Delete = sa.delete(table).where(c.key == sa.bindparam("p_key"))
        self.clear: Delete = sa.delete(table)
        expired = c.expires_at <= now

        def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            # SUM over no rows is NULL.
            return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

        self.stats = sa.select(
            count(sa.and_(c.state == RecordState.IN_PROGRESS.value, ~expired)),
            count(sa.and_(c.state == RecordState.COMPLETED.value, ~expired)),
            count(expired),
        )
        self.purge: Delete
        if dialect_name in ("mysql", "mariadb"):
            # MySQL refuses a LIMIT inside an IN subquery but has DELETE ... LIMIT.
            self.purge = (
                sa.delete(table)
                .where(expired)
                .with_dialect_options(mysql_limit=PURGE_BATCH, mariadb_limit=PURGE_BATCH)
            )
        else:
            batch = sa.select(c.key).where(expired).limit(PURGE_BATCH).scalar_subquery()
            self.purge = sa.delete(table).where(c.key.in_(batch))


def _takeover(
    table: sa.Table, now: sa.BindParameter[float], new_owner: sa.ColumnElement[Any]
) -> sa.ColumnElement[bool]:
    c = table.c
    return sa.or_(
        c.expires_at <= now,
        sa.and_(c.state == RecordState.IN_PROGRESS.value, c.owner == new_owner),
    )


def _insert_or_read(
    insert: postgresql.Insert, standing: Select[Any], returned: list[sa.Column[Any]]
) -> CompoundSelect[Any]:
    # One statement, so one round trip: the row inserted, or else the row that stands.
    # The read sees the statement's snapshot, which misses a row committed by another
    # claim after it began (the insert then found the conflict): no row comes back.
    inserted = insert.on_conflict_do_nothing(index_elements=["key"]).returning(*returned)
    rows = inserted.cte("inserted")
    return sa.union_all(
        sa.select(*rows.c, sa.true().label("settled")),
        standing.where(~sa.exists(rows.select())),
    )


def to_record(row: Sequence[Any]) -> Record:
    """Decode a row selected or returned with the record columns (and maybe more after)."""
    return decode_row(row[: len(RECORD_COLUMNS)])
