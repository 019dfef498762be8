"""A worker killed with SIGKILL in the middle of a request, on every store shared by
worker processes (SEMANTICS section 5): the key it held is usable again once its lease
has run out, and the other records are untouched.

A MemoryStore dies with its process, so it has nothing to recover; its claim that is
never completed is taken over after the lease in
tests/asgi/test_concurrency.py::test_expired_lease_of_a_dead_worker_is_taken_over.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from idempotency_middleware.stores.redis import RedisStore
from tests.faults.server_app import RunsConfig, environment, runs
from tests.faults.stores import store_url
from tests.redis.servers import unique_prefix
from tests.stores.faces import SQL_KINDS
from tests.support.databases import drop_table, unique_table_name
from tests.support.servers import running_server

pytestmark = pytest.mark.server

LEASE = 2.0
TIMEOUT = 60.0
KINDS = [*SQL_KINDS, pytest.param("redis")]


@pytest.fixture(params=KINDS)
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunsConfig]:
    """The server's configuration, on a table or key prefix of its own."""
    kind: str = request.param
    url = store_url(kind, tmp_path)
    namespace = (
        {"prefix": unique_prefix()} if kind == "redis" else {"table_name": unique_table_name()}
    )
    yield {
        "store_url": url,
        "store_options": namespace,
        "runs_path": str(tmp_path / "runs"),
        "delay": 0.0,
        "options": {"lease": LEASE, "in_flight": "reject"},
    }
    if kind == "redis":
        cleaner = RedisStore(url, prefix=namespace["prefix"])
        cleaner.clear()
        cleaner.close()
    else:
        drop_table(url, namespace["table_name"])


def post(client: httpx.Client, key: str, delay: float = 0.0) -> httpx.Response:
    headers = {"Idempotency-Key": key, "X-Delay": str(delay)}
    return client.post("/orders", json={"item": "book"}, headers=headers)


def started(runs_path: Path, key: str, timeout: float) -> int:
    """The pid of the worker running ``key``, once it has started."""
    deadline = time.monotonic() + timeout
    while not (pids := [pid for run, pid in runs(runs_path) if run == key]):
        assert time.monotonic() < deadline, f"{key} did not start within {timeout} s"
        time.sleep(0.05)
    return pids[0]


def post_until_not_in_progress(client: httpx.Client, key: str) -> httpx.Response:
    """Retry as a client should: wait Retry-After seconds after each 409."""
    deadline = time.monotonic() + TIMEOUT
    while (response := post(client, key)).status_code == 409:
        assert response.json()["type"].rstrip("/").endswith("/request-in-progress")
        assert time.monotonic() < deadline, "the killed worker's claim never expired"
        time.sleep(int(response.headers["retry-after"]))
    return response


def test_the_key_of_a_killed_worker_is_usable_after_the_lease(
    config: RunsConfig, tmp_path: Path
) -> None:
    runs_path = Path(config["runs_path"])
    with (
        running_server(
            "tests.faults.server_app:counted_app",
            log_path=tmp_path / "uvicorn.log",
            env=environment(config),
            workers=2,
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        other = post(client, "other")
        doomed = pool.submit(post, client, "killed", TIMEOUT)
        victim = started(runs_path, "killed", TIMEOUT)
        assert victim in server.worker_pids()
        os.kill(victim, signal.SIGKILL)
        with pytest.raises(httpx.TransportError):
            doomed.result()

        retry = post_until_not_in_progress(client, "killed")
        duplicate = post(client, "killed")
        other_again = post(client, "other")

    assert other.status_code == 201
    assert retry.status_code == 201
    assert "idempotent-replayed" not in retry.headers
    assert retry.json()["pid"] != victim
    assert duplicate.headers["idempotent-replayed"] == "true"
    assert duplicate.content == retry.content
    assert other_again.headers["idempotent-replayed"] == "true"
    assert other_again.content == other.content
    ran = runs(runs_path)
    assert [pid for key, pid in ran if key == "killed"] == [victim, retry.json()["pid"]]
    assert [key for key, _ in ran].count("other") == 1
