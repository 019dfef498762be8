"""A process target: one worker calling an idempotent function, for the process races."""

from __future__ import annotations

import json
import os
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

import redis

from idempotency_middleware import idempotent
from idempotency_middleware.stores import RedisStore, SQLAlchemyStore, Store
from tests.redis.servers import REDIS_URL

__all__ = ["book_in_process"]


def book_in_process(
    kind: str, url: str, where: str, counter: str, start: Barrier, results: Queue[str]
) -> None:
    """Build the store of ``kind`` at ``url`` (``where`` is its table or key prefix), wait
    for the other processes, then book delivery ``d-1`` once: its effect increments the
    Redis counter ``counter``. Puts the result as JSON, or the error, on ``results``."""
    try:
        store: Store
        if kind == "redis":
            store = RedisStore(url, prefix=where)
        else:
            store = SQLAlchemyStore(url, table_name=where, create_table=False)
        effects = redis.Redis.from_url(REDIS_URL)
        try:

            @idempotent(store, key="delivery_id", name="book")
            def book(delivery_id: str) -> dict[str, int]:
                return {"effect": int(effects.incr(counter)), "pid": os.getpid()}

            store.get("0" * 64)  # connected before the race starts
            start.wait(timeout=60)
            outcome = json.dumps(book("d-1"))
        finally:
            store.close()
            effects.close()
    except Exception as exc:
        results.put(f"{type(exc).__name__}: {exc}")
    else:
        results.put(outcome)
