"""A Celery worker whose task runs once per delivery, however often its message comes.

Run it with ``celery -A integrations.celery_tasks worker``; ``PAYMENTS_REDIS_URL`` and
``PAYMENTS_PREFIX`` say where its broker, results, idempotency records and ledger live.
"""

from __future__ import annotations

# [start:task]
import json
import os
import secrets
from typing import Any

import redis
from celery import Celery

from idempotency_middleware import idempotent
from idempotency_middleware.stores import RedisStore


def create_app(redis_url: str, prefix: str) -> Celery:
    """A Celery app on ``redis_url`` whose keys all start with ``prefix``."""
    app = Celery("payments", broker=redis_url, backend=redis_url)
    keys = {"global_keyprefix": prefix}
    app.conf.update(
        broker_transport_options=keys,
        result_backend_transport_options=keys,
        task_default_queue=f"{prefix}payments",
        # A message is acknowledged once its task has run, so a worker that dies
        # mid-task has it delivered again: the idempotency record makes that run once.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
    )
    store = RedisStore(redis_url, prefix=f"{prefix}idempotency:")
    ledger = redis.Redis.from_url(redis_url)

    @app.task(name="payments.record_payment")
    @idempotent(store, key="delivery_id", name="payments.record_payment")
    def record_payment(delivery_id: str, account: str, cents: int) -> dict[str, Any]:
        """Book a payment in the ledger; a redelivery returns the first receipt."""
        entry = {"delivery": delivery_id, "account": account, "cents": cents}
        ledger.rpush(f"{prefix}ledger", json.dumps(entry))
        return {"receipt": secrets.token_hex(8), **entry}

    return app


# What `celery -A integrations.celery_tasks worker` runs.
app = create_app(
    os.environ.get("PAYMENTS_REDIS_URL", "redis://127.0.0.1:6379/0"),
    os.environ.get("PAYMENTS_PREFIX", "payments:"),
)
# [end:task]
