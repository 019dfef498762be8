"""The side effect of the example apps: one row in an ``orders`` table per handler run.

The table lives in a real database so that every worker process of a server sees the
same rows, and a test or the demo can count how many times a handler really ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, func, select
from sqlalchemy.pool import NullPool

__all__ = ["MAX_INTEGER", "Order", "OrderBook", "order_json", "parse_order"]

MAX_INTEGER = 2**31 - 1
"""The largest ``amount`` or order id: an INTEGER column holds 32 bits on PostgreSQL and
MariaDB, and a larger number would fail in the database instead of being a 422."""


@dataclass(frozen=True)
class Order:
    """One placed order. ``request_key`` is the key the request carried (the
    ``Idempotency-Key`` or the webhook delivery id); ``pid`` is the worker that ran it."""

    id: int
    item: str
    amount: int
    request_key: str | None
    pid: int


class OrderBook:
    """The ``orders`` table (or ``table``) of the database at ``url``."""

    def __init__(self, url: str, *, table: str = "orders") -> None:
        # No pool: a connection never outlives one call, so apps built in a test and
        # never shut down leave no connection behind, and workers share no state.
        self._engine = create_engine(url, poolclass=NullPool)
        self._metadata = MetaData()
        self._table = Table(
            table,
            self._metadata,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("item", String(200), nullable=False),
            Column("amount", Integer, nullable=False),
            Column("request_key", String(255), index=True),
            Column("pid", Integer, nullable=False),
        )

    def create(self) -> None:
        """Create the table unless it exists."""
        self._metadata.create_all(self._engine, checkfirst=True)

    def drop(self) -> None:
        """Drop the table if it exists."""
        self._metadata.drop_all(self._engine, checkfirst=True)

    def place(self, item: str, amount: int, request_key: str | None) -> Order:
        """Insert an order and commit it at once, so other processes count it."""
        pid = os.getpid()
        with self._engine.begin() as connection:
            result = connection.execute(
                self._table.insert().values(
                    item=item, amount=amount, request_key=request_key, pid=pid
                )
            )
            primary_key = result.inserted_primary_key
        assert primary_key is not None  # an INSERT always reports its key
        return Order(int(primary_key[0]), item, amount, request_key, pid)

    def get(self, order_id: int) -> Order | None:
        """The order with id ``order_id``, or None."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(self._table).where(self._table.c.id == order_id)
            ).one_or_none()
        return None if row is None else Order(*row)

    def find(self, request_key: str) -> list[Order]:
        """The orders placed by requests carrying ``request_key``, oldest first."""
        query = (
            select(self._table)
            .where(self._table.c.request_key == request_key)
            .order_by(self._table.c.id)
        )
        with self._engine.connect() as connection:
            return [Order(*row) for row in connection.execute(query)]

    def count(self, request_key: str | None = None) -> int:
        """How many orders exist, or how many requests carrying ``request_key`` placed."""
        query = select(func.count()).select_from(self._table)
        if request_key is not None:
            query = query.where(self._table.c.request_key == request_key)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())


def parse_order(payload: Any) -> tuple[str, int]:
    """The item and amount (in cents) of an order body; ValueError if it is not one."""
    if not isinstance(payload, dict):
        raise ValueError("the body must be a JSON object")
    item, amount = payload.get("item"), payload.get("amount")
    if not isinstance(item, str) or not item or len(item) > 200:
        raise ValueError("item must be a non-empty string of at most 200 characters")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_INTEGER:
        raise ValueError(f"amount must be an integer number of cents from 1 to {MAX_INTEGER}")
    return item, amount


def order_json(order: Order) -> dict[str, Any]:
    """The JSON body that describes ``order``."""
    return {"id": order.id, "item": order.item, "amount": order.amount}
