"""Creating the records table at start-up is safe when several workers start at once, on
every database (SEMANTICS section 5): whoever comes second, or meets a lock, waits or
finds the table made, and starts."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from idempotency_middleware.stores.sql import SQLAlchemyStore
from tests.faults.preload_app import PreloadConfig, environment
from tests.stores.faces import LEASE, SQL_KINDS, database_url, digest
from tests.support.databases import drop_table, sqlite_url, unique_table_name
from tests.support.servers import running_gunicorn

KEY = digest("key")


def missing_tables(
    dialect: object, connection: object, names: list[str], schema: str | None = None, **kw: object
) -> dict[tuple[str | None, str], bool]:
    return dict.fromkeys(((schema, name) for name in names), False)


@pytest.mark.parametrize("kind", SQL_KINDS)
def test_store_starts_when_another_worker_made_the_table_after_it_looked(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = database_url(kind, tmp_path)
    table_name = unique_table_name()
    try:
        SQLAlchemyStore(url, table_name=table_name).close()
        # Every look for the table comes too early: another worker creates it between
        # the look and the CREATE, twice in a row.
        dialect = sa.make_url(url).get_dialect()
        monkeypatch.setattr(dialect, "has_table", lambda *args, **kwargs: False)
        if hasattr(dialect, "has_multi_table"):  # what SQLAlchemy 2.1 asks instead
            monkeypatch.setattr(dialect, "has_multi_table", missing_tables)

        store = SQLAlchemyStore(url, table_name=table_name)
        try:
            assert store.claim(KEY, "owner", "fingerprint", LEASE).claimed
        finally:
            store.close()
    finally:
        drop_table(url, table_name)


def test_sqlite_store_starts_while_another_worker_writes_a_fresh_file(tmp_path: Path) -> None:
    # A worker writing the file before it is in WAL mode holds a lock that SQLite's busy
    # timeout does not wait for when another connection switches the file to WAL.
    url = sqlite_url(tmp_path)
    writer = sqlite3.connect(
        sa.make_url(url).database or "", isolation_level=None, check_same_thread=False
    )
    writer.execute("CREATE TABLE other (id INTEGER)")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO other VALUES (1)")
    done = threading.Timer(0.5, writer.execute, ["COMMIT"])
    done.start()
    try:
        store = SQLAlchemyStore(url)
        try:
            assert store.claim(KEY, "owner", "fingerprint", LEASE).claimed
        finally:
            store.close()
    finally:
        done.join()
        writer.close()


@pytest.mark.server
def test_every_gunicorn_worker_boots_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    config: PreloadConfig = {"store_url": sqlite_url(tmp_path), "store_options": {}}
    with running_gunicorn(
        "tests.faults.preload_app:wsgi()",
        log_path=tmp_path / "gunicorn.log",
        env=environment(config),
    ) as server:
        assert len(server.worker_pids()) == 4
        assert "Traceback" not in server.log()
