"""The concurrency promises through a real uvicorn server with four worker processes
(SEMANTICS section 5).

Each test starts its own server on a store the workers share (PostgreSQL, or a SQLite
file) and counts the handler's runs in the example app's ``orders`` table, which lives
in the same database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from idempotency_middleware.testing import assert_one_run
from integrations.orders import Order, OrderBook
from tests.asgi.server_apps import AppConfig, environment
from tests.support.databases import POSTGRES_URL, drop_table, sqlite_url, unique_table_name
from tests.support.replays import is_replay
from tests.support.servers import Server, running_server

pytestmark = pytest.mark.server

_T = TypeVar("_T")

ORDER = {"item": "annual plan", "amount": 19_900}
DUPLICATES = 50
HANDLER_SECONDS = 0.5
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Database:
    """Where a test's server keeps its records and its orders."""

    url: str
    store_table: str
    orders: OrderBook
    orders_table: str


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = POSTGRES_URL if request.param == "postgres" else sqlite_url(tmp_path)
    store_table = unique_table_name()
    orders_table = f"orders_{store_table}"
    orders = OrderBook(url, table=orders_table)
    # Created before the server starts: four workers creating one table at once would
    # race, and the example app only creates a table that is missing.
    orders.create()
    try:
        yield Database(url, store_table, orders, orders_table)
    finally:
        orders.drop()
        drop_table(url, store_table)


@contextlib.contextmanager
def serving(
    database: Database,
    log_dir: Path,
    *,
    delay: float,
    app: str = "fastapi_orders",
    **options: Any,
) -> Iterator[Server]:
    """The example orders app behind four workers; ``options`` go to the middleware."""
    config: AppConfig = {
        "store_url": database.url,
        "store_options": {"table_name": database.store_table},
        "orders_url": database.url,
        "orders_table": database.orders_table,
        "delay": delay,
        "options": options,
    }
    with running_server(
        f"tests.asgi.server_apps:{app}",
        log_path=log_dir / "uvicorn.log",
        env=environment(config),
    ) as server:
        yield server


def new_key() -> str:
    return str(uuid.uuid4())


async def post_at_once(base_url: str, key: str, count: int) -> list[httpx.Response]:
    """``count`` identical POSTs, each on its own connection, sent together."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT
    ) as client:
        return await asyncio.gather(
            *(
                client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
                for _ in range(count)
            )
        )


def wait_for(produce: Callable[[], _T], timeout: float) -> _T:
    """The first truthy value ``produce`` returns, polled for up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (value := produce()):
        assert time.monotonic() < deadline, f"nothing within {timeout} s"
        time.sleep(0.05)
    return value


def assert_in_progress(response: httpx.Response) -> int:
    """Check a 409 ``request-in-progress`` answer and return its Retry-After."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].rstrip("/").endswith("/request-in-progress")
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


@pytest.mark.parametrize("app", ["fastapi_orders", "starlette_orders"])
def test_duplicates_on_every_worker_wait_for_the_one_run(
    database: Database, tmp_path: Path, app: str
) -> None:
    key = new_key()
    with serving(database, tmp_path, app=app, delay=HANDLER_SECONDS, in_flight="wait") as server:
        responses = asyncio.run(post_at_once(server.base_url, key, DUPLICATES))

    assert_one_run(responses, runs=database.orders.count(key))
    # Each duplicate waited for the run instead of being turned away.
    assert [r.status_code for r in responses] == [201] * DUPLICATES
    assert len({r.headers["location"] for r in responses}) == 1


def test_duplicates_on_every_worker_are_rejected_while_the_one_runs(
    database: Database, tmp_path: Path
) -> None:
    key = new_key()
    with serving(database, tmp_path, delay=HANDLER_SECONDS, in_flight="reject") as server:
        responses = asyncio.run(post_at_once(server.base_url, key, DUPLICATES))

    # One run; the duplicates that came after it are its replays.
    assert assert_one_run(responses, runs=database.orders.count(key)).status_code == 201
    rejected = [r for r in responses if r.status_code == 409]
    assert rejected, "no duplicate arrived while the first request ran"
    for response in rejected:
        assert_in_progress(response)


def post_until_not_in_progress(client: httpx.Client, key: str, timeout: float) -> httpx.Response:
    """Retry as a client should: wait Retry-After seconds after each 409."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
        if response.status_code != 409:
            return response
        retry_after = assert_in_progress(response)
        assert time.monotonic() + retry_after < deadline, "still in progress"
        time.sleep(retry_after)


def test_a_retry_runs_again_after_the_lease_of_a_killed_worker(
    database: Database, tmp_path: Path
) -> None:
    # The handler commits its order, then waits on the payment: killed in that wait, it
    # leaves one order behind, and the run after the lease adds the second (SEMANTICS 5:
    # where exactly-once ends).
    lease = 3
    key = new_key()
    with (
        serving(database, tmp_path, delay=lease / 2, in_flight="reject", lease=lease) as server,
        httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        first = pool.submit(client.post, "/orders", json=ORDER, headers={"Idempotency-Key": key})
        (started,) = wait_for(lambda: database.orders.find(key), timeout=30)
        assert started.pid in server.worker_pids()
        os.kill(started.pid, signal.SIGKILL)
        with pytest.raises(httpx.TransportError):
            first.result()

        retry = post_until_not_in_progress(client, key, timeout=lease + 30)

    assert retry.status_code == 201, retry.text
    assert not is_replay(retry)
    killed, completed = database.orders.find(key)
    assert killed == started
    assert completed.pid != started.pid
    assert retry.json()["id"] == completed.id


def test_the_lease_is_renewed_while_the_handler_runs(database: Database, tmp_path: Path) -> None:
    # A client that timed out and retries must find the first attempt still holding the
    # key, however long past the lease the handler runs.
    lease = 1
    key = new_key()
    with (
        serving(database, tmp_path, delay=4 * lease, in_flight="reject", lease=lease) as server,
        httpx.Client(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        first = pool.submit(client.post, "/orders", json=ORDER, headers={"Idempotency-Key": key})
        orders: list[Order] = wait_for(lambda: database.orders.find(key), timeout=30)
        time.sleep(2.5 * lease)
        duplicate = client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
        original = first.result()

    assert_in_progress(duplicate)
    assert original.status_code == 201
    assert database.orders.find(key) == orders
