"""A store in a SQL database through SQLAlchemy: PostgreSQL, MySQL, MariaDB and SQLite.

Every operation is one statement on an autocommit connection, so one round trip on the
wire: a fresh request costs two (claim, complete) and a replay one (claim). The sync face
runs on a sync engine, the async face on an async engine per event loop, and both run the
same statements from :mod:`~idempotency_middleware.stores.sql_statements`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.dml import Delete, Update

from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.stores import sql_tables
from idempotency_middleware.stores.base import RecordCounts, Store
from idempotency_middleware.stores.codec import RECORD_COLUMNS, encode_headers
from idempotency_middleware.stores.sql_connections import Connections, Executor
from idempotency_middleware.stores.sql_engines import EngineFactory, async_url, is_memory, sync_url
from idempotency_middleware.stores.sql_statements import (
    PURGE_BATCH,
    Statements,
    idempotency_records,
    make_table,
    to_record,
)

__all__ = ["SQLAlchemyStore", "idempotency_records", "make_table"]

# Where the claim's rows say whether the record they hold stands, after its columns.
_SETTLED = len(RECORD_COLUMNS)


class SQLAlchemyStore(Store):
    """Records in a table of a SQL database, shared by every worker that reaches it.

    ``url_or_engine`` is a database URL or a sync :class:`~sqlalchemy.engine.Engine`.
    From a URL the store builds its engines with autocommit, explicit timeouts and, on
    SQLite, WAL and a busy timeout so several processes can share the file; an engine
    you pass is used as it is, with autocommit set per connection (create it with
    ``isolation_level="AUTOCOMMIT"`` and ``skip_autocommit_rollback=True`` to save the
    round trips of switching). The async face derives its driver from the URL
    (``postgresql+psycopg``, ``sqlite+aiosqlite``, ``mysql+asyncmy``), except that a
    ``postgresql+asyncpg://`` URL runs it on asyncpg (the ``asyncpg`` extra), which
    spends fewer instructions per statement, and the sync face on psycopg. It keeps one
    async engine per running event loop, since pooled connections belong to a loop; or
    give ``async_engine``, which is then used on every loop. On ``sqlite:///:memory:``
    the async face uses the sync engine: the database does no I/O to wait for.

    ``connect_timeout`` bounds connecting and waiting for a pooled connection;
    ``statement_timeout`` bounds a statement (PostgreSQL's ``statement_timeout``, the
    MySQL driver's read and write timeouts, SQLite's busy timeout), and both faces bound
    a whole operation by their sum, even against a server that stops answering: the
    async face stops waiting, the sync face shuts down the connection of a driver
    without a read timeout (psycopg). ``engine_options`` are passed to
    :func:`~sqlalchemy.create_engine` over the store's own (``connect_args`` merged).

    ``durable=False`` relaxes commit durability on PostgreSQL (through psycopg or
    asyncpg): every connection of the engines the store builds runs with
    ``synchronous_commit=off``, set in the startup packet, so no round trip is added.
    A statement then returns once its change is in the server's WAL buffers, without
    waiting for them to reach the disk: that wait is saved on every claim that takes a
    key and every completion (a replay writes nothing on PostgreSQL, so it waits for no
    flush either way). A crash of the PostgreSQL server (not of the application) can then
    lose the records of the last few hundred milliseconds (at most three times
    ``wal_writer_delay``), and a retry of one of those requests runs its handler
    again; the database stays consistent. Commits no longer wait for synchronous
    standbys either, so a failover can lose the same recent records, as with
    asynchronous replication. It is a fair trade where running a request twice after
    a rare server crash is acceptable (client retries of idempotent-enough handlers),
    not where a duplicate would do harm nothing undoes (a payment). SQLite and
    MySQL/MariaDB have no per-session equivalent, and engines you pass are used as you
    built them: there ``durable=False`` raises
    :class:`~idempotency_middleware.errors.ConfigurationError`, as any value but a
    bool does.

    With ``create_table`` the table is created at start-up if missing, safely when
    several workers start at once. For Alembic, define it with :func:`make_table`.
    Call :meth:`close`, and :meth:`aclose` on each event loop that used the async face.
    """

    def __init__(
        self,
        url_or_engine: str | URL | Engine,
        *,
        table_name: str = "idempotency_records",
        schema: str | None = None,
        create_table: bool = True,
        clock: Clock = system_clock,
        async_engine: AsyncEngine | None = None,
        connect_timeout: float = 5.0,
        statement_timeout: float = 10.0,
        engine_options: Mapping[str, Any] | None = None,
        durable: bool = True,
    ) -> None:
        _check_durable(durable, url_or_engine, async_engine)
        self._clock = clock
        factory = EngineFactory(connect_timeout, statement_timeout, engine_options or {}, durable)
        engine: Engine
        if isinstance(url_or_engine, Engine):
            url = url_or_engine.url
            engine = url_or_engine.execution_options(isolation_level="AUTOCOMMIT")
        else:
            url = sa.make_url(url_or_engine)
            engine = factory.sync(sync_url(url))
        self.table = make_table(sa.MetaData(), table_name, schema)
        """The records table, for completing a record inside your own transaction."""
        self._statements = Statements(self.table, engine.dialect.name)
        self._connections = Connections(
            engine,
            own=not isinstance(url_or_engine, Engine),
            factory=factory,
            async_engine=async_engine,
            async_url=None if async_engine else async_url(url),
            inline=async_engine is None and is_memory(url),
            operation_timeout=connect_timeout + statement_timeout,
        )
        self._creation_timeout = connect_timeout + statement_timeout
        if create_table:
            try:
                self.create_table()
            except BaseException:
                self.close()
                raise

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        now = self._clock()
        row = self._connections.run(
            partial(self._claim, _claim_params(key, owner, fingerprint, now, lease))
        )
        return _claim_outcome(row, owner, now)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        params = _complete_params(key, owner, response, self._clock() + ttl)
        return self._connections.run(partial(_count, self._statements.complete, params)) == 1

    def renew(self, key: str, owner: str, lease: float) -> bool:
        params = {"p_key": key, "p_owner": owner, "p_expires_at": self._clock() + lease}
        return self._connections.run(partial(_count, self._statements.renew, params)) == 1

    def release(self, key: str, owner: str) -> bool:
        params = {"p_key": key, "p_owner": owner}
        return self._connections.run(partial(_count, self._statements.release, params)) == 1

    def get(self, key: str) -> Record | None:
        row = self._connections.run(partial(self._get, {"p_key": key, "p_now": self._clock()}))
        return None if row is None else to_record(row)

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        now = self._clock()
        params = _claim_params(key, owner, fingerprint, now, lease)
        row = await self._connections.arun(partial(self._claim, params))
        return _claim_outcome(row, owner, now)

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        params = _complete_params(key, owner, response, self._clock() + ttl)
        return await self._connections.arun(partial(_count, self._statements.complete, params)) == 1

    async def arenew(self, key: str, owner: str, lease: float) -> bool:
        params = {"p_key": key, "p_owner": owner, "p_expires_at": self._clock() + lease}
        return await self._connections.arun(partial(_count, self._statements.renew, params)) == 1

    async def arelease(self, key: str, owner: str) -> bool:
        params = {"p_key": key, "p_owner": owner}
        return await self._connections.arun(partial(_count, self._statements.release, params)) == 1

    async def aget(self, key: str) -> Record | None:
        row = await self._connections.arun(
            partial(self._get, {"p_key": key, "p_now": self._clock()})
        )
        return None if row is None else to_record(row)

    def purge(self) -> int:
        return self._connections.run(partial(self._purge, self._clock()))

    def forget(self, key: str) -> bool:
        return self._connections.run(partial(_count, self._statements.forget, {"p_key": key})) == 1

    def stats(self) -> RecordCounts:
        in_progress, completed, expired = self._connections.run(partial(self._stats, self._clock()))
        return RecordCounts(int(in_progress), int(completed), int(expired))

    def clear(self) -> None:
        self._connections.run(partial(_count, self._statements.clear, {}))

    def close(self) -> None:
        self._connections.close()

    async def aclose(self) -> None:
        await self._connections.aclose()

    def _claim(self, params: dict[str, Any], executor: Executor) -> Sequence[Any]:
        statements = self._statements
        if statements.claim_or_read is not None:
            row = executor.first(statements.claim_or_read, params)
            # No row: another claim inserted one after this statement's snapshot.
            # Unsettled: the record may be taken over. Either way the upsert, which
            # always yields the one row, decides.
            if row is not None and row[_SETTLED]:
                return row
        if statements.claim_without_returning is None or executor.dialect.insert_returning:
            row = executor.first(statements.claim, params)
            if row is None:
                raise StoreError("the claim returned no row")
            return row
        # MySQL has no RETURNING (MariaDB has since 10.5), so read the row back: one more
        # round trip. No transaction is needed: only this claim can write its owner
        # token, and a record of another owner that is live when read is the record that
        # stands at that instant. A row gone or expired by then means the claim must run
        # again.
        for _ in range(3):
            executor.count(statements.claim_without_returning, params)
            row = executor.first(statements.get, params)
            if row is not None:
                return row
        raise StoreError("the record changed under three claims in a row")

    def _get(self, params: dict[str, Any], executor: Executor) -> Sequence[Any] | None:
        return executor.first(self._statements.get, params)

    def _stats(self, now: float, executor: Executor) -> Sequence[Any]:
        counts = executor.first(self._statements.stats, {"p_now": now})
        assert counts is not None  # aggregates over no rows are still a row
        return counts

    def _purge(self, now: float, executor: Executor) -> int:
        purged = 0
        while True:
            count = _count(self._statements.purge, {"p_now": now}, executor)
            purged += count
            if count < PURGE_BATCH:
                return purged

    def create_table(self) -> None:
        """Create the records table if it is missing (what ``create_table=True`` does at
        start-up); safe when several workers do it at once."""
        sql_tables.create_table(
            self._connections.engine, self.table, timeout=self._creation_timeout
        )


def _check_durable(
    durable: object, url_or_engine: str | URL | Engine, async_engine: AsyncEngine | None
) -> None:
    # A value from a configuration file such as "false" would read as true.
    if not isinstance(durable, bool):
        raise ConfigurationError(f"SQLAlchemyStore durable must be True or False, not {durable!r}")
    if durable:
        return
    if isinstance(url_or_engine, Engine) or async_engine is not None:
        raise ConfigurationError(
            "SQLAlchemyStore durable=False configures the engines the store builds from a "
            "URL; on an engine you pass, set synchronous_commit=off yourself"
        )
    url = sync_url(url_or_engine)
    if url.get_driver_name() != "psycopg":
        raise ConfigurationError(
            f"SQLAlchemyStore durable=False applies to PostgreSQL through psycopg or "
            f"asyncpg (postgresql+psycopg://, postgresql+asyncpg://), not to {url.drivername!r}"
        )


def _claim_params(
    key: str, owner: str, fingerprint: str, now: float, lease: float
) -> dict[str, Any]:
    return {
        "p_key": key,
        "p_owner": owner,
        "p_fingerprint": fingerprint,
        "p_now": now,
        "p_expires_at": now + lease,
    }


def _claim_outcome(row: Sequence[Any], owner: str, now: float) -> Claim:
    record = to_record(row)
    claimed = record.owner == owner and record.state is RecordState.IN_PROGRESS
    return Claim(claimed=claimed, record=record, now=now)


def _complete_params(
    key: str, owner: str, response: StoredResponse | None, expires_at: float
) -> dict[str, Any]:
    return {
        "p_key": key,
        "p_owner": owner,
        "p_status": None if response is None else response.status,
        "p_headers": None if response is None else encode_headers(response.headers),
        "p_body": None if response is None else response.body,
        "p_replayable": response is not None,
        "p_expires_at": expires_at,
    }


def _count(statement: Update | Delete, params: dict[str, Any], executor: Executor) -> int:
    return executor.count(statement, params)
