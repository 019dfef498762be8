"""Idempotent functions of either face, called alike, for the suites of every store."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from idempotency_middleware import idempotent
from idempotency_middleware.stores import Store
from integrations.snippets.functions import Message, create_booking

__all__ = ["FACES", "assert_threads_book_once", "call", "decorated"]

FACES = ["sync", "async"]


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a function of either face and return its result."""
    result = function(*args, **kwargs)
    return await result if inspect.isawaitable(result) else result


def decorated(face: str, store: Store, body: Callable[..., Any], **options: Any) -> Any:
    """``body(delivery_id, cents)`` as an idempotent function of ``face``."""
    if face == "sync":

        def book(delivery_id: str, cents: int = 100) -> Any:
            return body(delivery_id, cents)

    else:

        async def book(delivery_id: str, cents: int = 100) -> Any:  # type: ignore[misc]
            return body(delivery_id, cents)

    return idempotent(store, key="delivery_id", name="book", **options)(book)


def assert_threads_book_once(store: Store, count: int) -> None:
    """``count`` threads deliver one message at once to the booking of the functions page
    on ``store``: one entry in the ledger, and each thread gets its receipt."""
    ledger: list[Message] = []
    book = create_booking(store, ledger)
    start = threading.Barrier(count)
    receipts: list[Message] = []

    def deliver() -> None:
        start.wait(timeout=30)
        receipts.append(book("delivery-1", account="acct_1", cents=1250))

    threads = [threading.Thread(target=deliver) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert ledger == [{"account": "acct_1", "cents": 1250}]
    assert len(receipts) == count
    assert all(receipt == receipts[0] for receipt in receipts)
