"""What the database sessions of a SQL store report about themselves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool


@contextmanager
def synchronous_commit_seen() -> Iterator[list[str]]:
    """The ``synchronous_commit`` of every pooled connection checked out meanwhile, as
    its own session reports it."""
    seen: list[str] = []

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SHOW synchronous_commit")
            seen.append(cursor.fetchone()[0])
        finally:
            cursor.close()

    event.listen(Pool, "checkout", checkout)
    try:
        yield seen
    finally:
        event.remove(Pool, "checkout", checkout)
