"""Where the statements of :class:`~idempotency_middleware.stores.sql.SQLAlchemyStore` run.

One operation is a function of an :class:`Executor` on a pooled connection. The sync face
runs it on the sync engine, the async face on an async engine per event loop (pooled
connections belong to a loop), each with one more try on a connection the server had
dropped, within a bounded time, and with every driver error raised as
:class:`~idempotency_middleware.errors.StoreError`. A process forked after the store was
used drops the pools it inherited and opens its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import greenlet_spawn

from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.stores import forks
from idempotency_middleware.stores.sql_engines import EngineFactory
from idempotency_middleware.stores.watchdog import watchdog

__all__ = ["DRIVER_ERRORS", "Connections", "Executor", "store_error"]

_T = TypeVar("_T")

DRIVER_ERRORS = (sa_exc.SQLAlchemyError, OSError)
"""What a driver may raise for a store to turn into :class:`StoreError`."""


class Connections:
    """The engines of one store and the running of its operations on them.

    ``engine`` serves the sync face (disposed by :meth:`close` when ``own``). The async
    face uses ``async_engine`` on every loop when given, else one engine per loop built
    by ``factory`` from ``async_url``, else (``inline``) the sync engine, for a database
    that does no I/O to wait for. An async operation is given ``operation_timeout``.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        own: bool,
        factory: EngineFactory,
        async_engine: AsyncEngine | None,
        async_url: URL | None,
        inline: bool,
        operation_timeout: float,
    ) -> None:
        self.engine = engine
        self._own = own
        self._factory = factory
        self._async_given = async_engine
        self._async_url = async_url
        self._inline = inline
        self._operation_timeout = operation_timeout
        self._async_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncEngine]
        self._async_engines = weakref.WeakKeyDictionary()
        self._abandoned: set[asyncio.Task[Any]] = set()
        forks.register(self)

    def run(self, operation: Callable[[Executor], _T]) -> _T:
        """Run ``operation`` on a connection of the sync engine."""
        # A connection the server dropped (restart, idle timeout) gets one more try: the
        # pool has discarded the connections as old as it, so the next is fresh. Every
        # operation is safe to repeat: a repeated claim finds its own owner token.
        for last in (False, True):
            try:
                return _execute(self.engine, operation, self._operation_timeout)
            except DRIVER_ERRORS as exc:
                if last or not _dropped(exc):
                    raise store_error(exc) from exc
        raise AssertionError("unreachable")

    async def arun(self, operation: Callable[[Executor], _T]) -> _T:
        """Run ``operation`` on a connection of this loop's async engine, in bounded time."""
        if self._inline:
            return self.run(operation)
        task = asyncio.ensure_future(self._arun_on(self._async_engine(), operation))
        try:
            done, _ = await asyncio.wait({task}, timeout=self._operation_timeout)
        except asyncio.CancelledError:
            self._abandon(task)
            raise
        if done:
            return task.result()
        self._abandon(task)
        raise StoreError(f"the database did not answer within {self._operation_timeout:g} s")

    def close(self) -> None:
        """Dispose of the sync engine if the store built it."""
        if self._own:
            self.engine.dispose()

    async def aclose(self) -> None:
        """Dispose of the running loop's async engine, once its abandoned operations end."""
        loop = asyncio.get_running_loop()
        abandoned = [task for task in self._abandoned if task.get_loop() is loop]
        if abandoned:
            await asyncio.wait(abandoned)
        engine = self._async_engines.pop(loop, None)
        if engine is not None:
            try:
                await engine.dispose()
            except DRIVER_ERRORS as exc:
                raise store_error(exc) from exc

    def after_fork(self) -> None:
        # SQLAlchemy's pattern for a child process: a new, empty pool, and the parent's
        # connections left untouched. An in-memory SQLite database is the process's own
        # copy, reached through its one connection: nothing to share, nothing to drop.
        engines = [self.engine] if not self._inline else []
        if self._async_given is not None:
            engines.append(self._async_given.sync_engine)
        engines += [engine.sync_engine for engine in self._async_engines.values()]
        for engine in engines:
            forks.inherit(engine.pool)
            engine.dispose(close=False)
        forks.inherit(*self._async_engines.values(), *self._abandoned)
        self._async_engines = weakref.WeakKeyDictionary()
        self._abandoned = set()

    def _abandon(self, task: asyncio.Task[Any]) -> None:
        # Cancelled but not awaited, unlike wait_for does: psycopg takes up to ten more
        # seconds to give up on a cancelled query (it asks the server to cancel it, then
        # waits for the end). aclose() waits for what is left.
        task.cancel()
        self._abandoned.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._abandoned.discard(task)
        if not task.cancelled():
            task.exception()  # the caller has had its answer; this keeps asyncio quiet

    async def _arun_on(self, engine: AsyncEngine, operation: Callable[[Executor], _T]) -> _T:
        # The same retry as in run(). The whole operation, checkout and return to the pool
        # included, runs in one greenlet: SQLAlchemy's AsyncConnection would switch into
        # one for each of them.
        for last in (False, True):
            try:
                return await greenlet_spawn(_on_connection, engine.sync_engine, operation)
            except DRIVER_ERRORS as exc:
                if last or not _dropped(exc):
                    raise store_error(exc) from exc
        raise AssertionError("unreachable")

    def _async_engine(self) -> AsyncEngine:
        if self._async_given is not None:
            return self._async_given
        if self._async_url is None:
            raise ConfigurationError(
                f"SQLAlchemyStore cannot derive an async driver from "
                f"{self.engine.url.drivername!r}: pass async_engine"
            )
        loop = asyncio.get_running_loop()
        engine = self._async_engines.get(loop)
        if engine is None:
            engine = self._async_engines[loop] = self._factory.asynchronous(self._async_url)
        return engine


def _dropped(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def _execute(engine: Engine, operation: Callable[[Executor], _T], bound: float) -> _T:
    # Failing to connect is not retried: the error would only come again, later.
    try:
        conn = engine.connect()
    except DRIVER_ERRORS as exc:
        raise store_error(exc) from exc
    with conn:
        fd = _socket(conn)
        if fd is None:  # SQLite, or a driver with read timeouts of its own (PyMySQL)
            return operation(Executor(conn))
        token = watchdog.arm(fd, bound)
        try:
            result = operation(Executor(conn))
        except BaseException as exc:
            fired = watchdog.disarm(token)
            if fired:
                conn.invalidate()
            if fired and isinstance(exc, DRIVER_ERRORS):
                raise StoreError(f"the database did not answer within {bound:g} s") from exc
            raise
        if watchdog.disarm(token):
            conn.invalidate()  # answered just as its socket was shut down
        return result


def _socket(conn: Connection) -> int | None:
    """The socket of the driver's connection, where the driver tells it (psycopg)."""
    fileno = getattr(conn.connection.dbapi_connection, "fileno", None)
    return None if fileno is None else int(fileno())


def _on_connection(engine: Engine, operation: Callable[[Executor], _T]) -> _T:
    try:
        conn = engine.connect()
    except DRIVER_ERRORS as exc:
        raise store_error(exc) from exc
    with conn:
        return operation(Executor(conn))


class Executor:
    """Runs the store's statements on one connection, straight on the driver's cursor.

    SQLAlchemy compiles each statement once per dialect; what it does again for every
    statement (an execution context, a result object, the lookup in its cache of
    compiled forms) costs more than the driver itself, so it is skipped. Errors are
    handled as SQLAlchemy does: a connection the server dropped is invalidated with
    every pooled connection as old, and any error comes out as SQLAlchemy's. Where the
    engine is watched (``echo``, SQL logging, connection events such as tracing), the
    statements run through SQLAlchemy as usual, so that every one is seen.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect
        self._direct = not (conn._echo or _watched(conn))

    def first(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row of ``statement``, None for no row."""
        if not self._direct:
            found = self._conn.execute(statement, params).first()
            return None if found is None else tuple(found)
        compiled = _compiled(statement, self.dialect)
        cursor = self._execute(compiled, params)
        row = cursor.fetchone()
        results = compiled.results(cursor.description, self.dialect)
        if row is None or not results:
            return None if row is None else tuple(row)
        values = list(row)
        for index, process in results:
            values[index] = process(values[index])
        return values

    def count(self, statement: Executable, params: Mapping[str, Any]) -> int:
        """The number of rows ``statement`` matched."""
        if not self._direct:
            return self._conn.execute(statement, params).rowcount
        cursor = self._execute(_compiled(statement, self.dialect), params)
        count: int = cursor.rowcount
        return count

    def _execute(self, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        values = {**compiled.fixed, **params}
        for name, process in compiled.binds:
            values[name] = process(values[name])
        conn = self._conn
        pooled = conn.connection
        # A cursor per connection, kept in its info, which the pool empties when it
        # replaces the connection: psycopg spends a fifth of a statement making one.
        cursor = pooled.info.get(_CURSOR)
        if cursor is None:
            cursor = pooled.info[_CURSOR] = pooled.cursor()
        try:
            cursor.execute(compiled.sql, compiled.arguments(values))
        except self.dialect.loaded_dbapi.Error as exc:
            dropped = self.dialect.is_disconnect(exc, pooled.dbapi_connection, cursor)
            if dropped:
                # What SQLAlchemy's Connection does: the connections as old as this one
                # are likely gone too (a server restart), so the pool replaces them.
                conn.engine.pool._invalidate(pooled, exc)
                conn.invalidate(exc)
            raise sa_exc.DBAPIError.instance(
                compiled.sql,
                None,
                exc,
                self.dialect.loaded_dbapi.Error,
                hide_parameters=True,
                connection_invalidated=dropped,
                dialect=self.dialect,
            ) from exc
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # Interrupted (cancelled): the connection is in an unknown state.
                conn.invalidate(exc)
            raise
        return cursor


_CURSOR = object()


def _watched(conn: Connection) -> bool:
    if not (conn._has_events or conn.engine._has_events):
        return False
    # Listeners to connection events in general include the one that sets the isolation
    # level of an engine given to the store; those to its statements are what matter.
    dispatch = conn.dispatch
    return bool(
        dispatch.before_execute
        or dispatch.after_execute
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or conn.dialect.dispatch.handle_error
    )


@dataclass
class _Compiled:
    """A statement as its dialect's driver takes it, with what to do to each value."""

    sql: str
    fixed: Mapping[str, Any]
    """Values bound in the statement itself, such as the states it compares with."""
    binds: Sequence[tuple[str, Callable[[Any], Any]]]
    order: Sequence[str] | None
    """The names of the parameters in their places, for positional paramstyles."""
    columns: Sequence[TypeEngine[Any]]
    _results: list[tuple[int, Callable[[Any], Any]]] | None = None

    def arguments(self, values: Mapping[str, Any]) -> Any:
        return values if self.order is None else [values[name] for name in self.order]

    def results(
        self, description: Sequence[Sequence[Any]], dialect: Dialect
    ) -> list[tuple[int, Callable[[Any], Any]]]:
        """The conversions of the row's values, by the driver's type codes for them."""
        if self._results is None:
            self._results = []
            described = zip(self.columns, description, strict=True)
            for index, (column, (_, type_code, *_)) in enumerate(described):
                process = column.result_processor(dialect, type_code)
                if process is not None:
                    self._results.append((index, process))
        return self._results


_COMPILED: weakref.WeakKeyDictionary[Dialect, dict[Executable, _Compiled]]
_COMPILED = weakref.WeakKeyDictionary()


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    forms = _COMPILED.get(dialect)
    if forms is None:
        forms = _COMPILED[dialect] = {}
    form = forms.get(statement)
    if form is None:
        form = forms[statement] = _compile(statement, dialect)
    return form


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(  # type: ignore[attr-defined]
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    assert isinstance(compiled, SQLCompiler)
    binds = {}
    for bind, name in compiled.bind_names.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[name] = process
    return _Compiled(
        sql=str(compiled),
        fixed={
            name: bind.effective_value
            for bind, name in compiled.bind_names.items()
            if not bind.required
        },
        binds=list(binds.items()),
        order=compiled.positiontup if compiled.positional else None,
        columns=[
            column.type.dialect_impl(dialect)
            for column in statement.exported_columns  # type: ignore[attr-defined]
        ],
    )


def store_error(exc: BaseException) -> StoreError:
    """``exc`` as a :class:`StoreError`, with the driver's own message: SQLAlchemy's would
    repeat the statement and, on engines without hide_parameters, its parameters,
    response bodies included."""
    cause = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    return StoreError(f"SQL store error: {type(cause).__name__}: {cause}")
