"""A real Celery worker on Redis: a message delivered five times books one payment, and
every delivery gets the first one's receipt."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from integrations.celery_tasks import create_app
from tests.redis.servers import REDIS_URL, unique_prefix
from tests.support.servers import running_celery_worker

pytestmark = pytest.mark.server


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix for the broker, the results, the records and the ledger, deleted after."""
    prefix = f"celery-{unique_prefix()}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_a_message_delivered_five_times_books_one_payment(prefix: str, tmp_path: Path) -> None:
    producer = create_app(REDIS_URL, prefix)
    message = {"delivery_id": secrets.token_hex(8), "account": "acct_1", "cents": 1250}
    log_path = tmp_path / "celery.log"
    env = {"PAYMENTS_REDIS_URL": REDIS_URL, "PAYMENTS_PREFIX": prefix}
    try:
        with running_celery_worker("integrations.celery_tasks", log_path=log_path, env=env):
            sent = [producer.send_task("payments.record_payment", kwargs=message) for _ in range(5)]
            receipts = [result.get(timeout=60) for result in sent]
            late = producer.send_task("payments.record_payment", kwargs=message).get(timeout=60)
    finally:
        producer.close()
    ledger = redis.Redis.from_url(REDIS_URL)
    try:
        booked = [json.loads(entry) for entry in ledger.lrange(f"{prefix}ledger", 0, -1)]
    finally:
        ledger.close()
    assert booked == [{"delivery": message["delivery_id"], "account": "acct_1", "cents": 1250}]
    (original,) = {json.dumps(receipt, sort_keys=True) for receipt in [*receipts, late]}
    assert json.loads(original)["delivery"] == message["delivery_id"]
    assert log_path.read_text().count("succeeded") == 6, log_path.read_text()
