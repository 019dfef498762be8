"""The concurrency promises through gunicorn with four sync worker processes
(SEMANTICS section 5), on the databases that workers share.

Each test starts the example shop with its default SQL store on a fresh table, and
counts the handler's runs in rows of the same database.
"""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.orders import OrderBook
from tests.flask.server_app import environment
from tests.support.databases import MARIADB_URL, POSTGRES_URL, drop_table, unique_table_name
from tests.support.replays import is_replay
from tests.support.servers import Server, running_gunicorn

pytestmark = pytest.mark.server

ORDER = {"item": "annual plan", "amount": 19_900}
DUPLICATES = 50
HANDLER_SECONDS = 0.5
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Database:
    """Where a test's server keeps its records, orders and charges."""

    url: str
    store_table: str
    orders: OrderBook
    charges: OrderBook

    def config(self, **config: Any) -> dict[str, Any]:
        return {
            "IDEMPOTENCY_DATABASE_URI": self.url,
            "IDEMPOTENCY_TABLE_NAME": self.store_table,
            "ORDERS_TABLE": f"orders_{self.store_table}",
            "CHARGES_TABLE": f"charges_{self.store_table}",
            **config,
        }


@pytest.fixture(
    params=[
        pytest.param(POSTGRES_URL, marks=pytest.mark.postgres, id="postgres"),
        pytest.param(MARIADB_URL, marks=pytest.mark.mariadb, id="mariadb"),
    ]
)
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    url: str = request.param
    store_table = unique_table_name()
    orders = OrderBook(url, table=f"orders_{store_table}")
    charges = OrderBook(url, table=f"charges_{store_table}")
    # Created before the server starts: the example app only creates a missing table,
    # and four workers checking at once would race.
    orders.create()
    charges.create()
    try:
        yield Database(url, store_table, orders, charges)
    finally:
        orders.drop()
        charges.drop()
        drop_table(url, store_table)


@contextlib.contextmanager
def serving(database: Database, log_dir: Path, **config: Any) -> Iterator[Server]:
    env = environment(
        orders_url=database.url, delay=HANDLER_SECONDS, config=database.config(**config)
    )
    with running_gunicorn(
        "tests.flask.server_app:create()", log_path=log_dir / "gunicorn.log", env=env
    ) as server:
        yield server


def at_once(count: int, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``count`` requests made by ``send``, each from its own thread, released together."""
    start = threading.Barrier(count)
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)

    def one(client: httpx.Client) -> httpx.Response:
        start.wait(timeout=30)
        return send(client)

    with (
        httpx.Client(limits=limits, timeout=REQUEST_TIMEOUT) as client,
        ThreadPoolExecutor(count) as pool,
    ):
        return list(pool.map(lambda _: one(client), range(count)))


def test_duplicates_on_every_worker_wait_for_the_one_run(
    database: Database, tmp_path: Path
) -> None:
    key = str(uuid.uuid4())
    with serving(database, tmp_path, IDEMPOTENCY_IN_FLIGHT="wait") as server:
        responses = at_once(
            DUPLICATES,
            lambda client: client.post(
                f"{server.base_url}/orders", json=ORDER, headers={"Idempotency-Key": key}
            ),
        )
        assert len(server.worker_pids()) == 4

    assert database.orders.count(key) == 1
    assert [r.status_code for r in responses] == [201] * DUPLICATES
    assert len({r.content for r in responses}) == 1
    assert len({r.headers["location"] for r in responses}) == 1
    assert sum(is_replay(r) for r in responses) == DUPLICATES - 1


def test_duplicates_on_every_worker_are_rejected_while_the_one_runs(
    database: Database, tmp_path: Path
) -> None:
    key = str(uuid.uuid4())
    with serving(database, tmp_path, IDEMPOTENCY_IN_FLIGHT="reject") as server:
        responses = at_once(
            DUPLICATES,
            lambda client: client.post(
                f"{server.base_url}/orders", json=ORDER, headers={"Idempotency-Key": key}
            ),
        )

    assert database.orders.count(key) == 1
    (original,) = [r for r in responses if r.status_code == 201 and not is_replay(r)]
    rejected = [r for r in responses if r.status_code == 409]
    assert rejected, "no duplicate arrived while the first request ran"
    for response in rejected:
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
    replays = [r for r in responses if r.status_code != 409 and r is not original]
    assert all(is_replay(r) and r.content == original.content for r in replays)


def test_a_checkout_form_clicked_many_times_charges_once(
    database: Database, tmp_path: Path
) -> None:
    clicks = 10
    with serving(database, tmp_path) as server:
        page = httpx.get(f"{server.base_url}/checkout").text
        match = re.search(r'name="idempotency_key" value="([^"]+)"', page)
        assert match is not None, page
        form = {"item": "annual plan", "amount": "19900", "idempotency_key": match.group(1)}
        answers = at_once(
            clicks, lambda client: client.post(f"{server.base_url}/checkout", data=form)
        )

    assert database.charges.count(match.group(1)) == 1
    assert [answer.status_code for answer in answers] == [200] * clicks
    assert len({answer.content for answer in answers}) == 1
    assert b"annual plan, 199.00" in answers[0].content
    assert sum(is_replay(answer) for answer in answers) == clicks - 1
