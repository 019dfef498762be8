"""The life of a record: duplicates in progress, wait mode, release and expiry
(SEMANTICS section 5)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from idempotency_middleware import ManualClock
from idempotency_middleware.records import RecordState
from idempotency_middleware.stores import MemoryStore
from tests.behaviour.client import Client, Reply, assert_problem
from tests.behaviour.conftest import MakeClient
from tests.behaviour.handlers import SLOW_TIMEOUT
from tests.behaviour.stores import WatchedStore


@contextlib.contextmanager
def in_progress(client: Client, key: str, path: str = "/slow") -> Iterator[Future[Reply]]:
    """A request to ``/slow`` whose handler is running until the block ends; its reply."""
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, path, key)
        try:
            assert client.runs.entered.wait(SLOW_TIMEOUT)
            yield first
        finally:
            client.runs.opened.set()


def test_a_duplicate_in_progress_is_409_with_retry_after(make_client: MakeClient) -> None:
    client = make_client(lease=60)
    with in_progress(client, "busy") as first:
        duplicate = client.post("/slow", "busy")
        record = client.record("busy")
    assert_problem(duplicate, 409, "request-in-progress")
    assert 1 <= int(duplicate.header("retry-after")[0]) <= 60
    assert record is not None
    assert record.state is RecordState.IN_PROGRESS
    original = first.result(SLOW_TIMEOUT)
    assert original.status == 201
    replay = client.post("/slow", "busy")
    assert replay.replayed
    assert replay.body == original.body == b"run 1"
    assert client.runs["slow"] == 1


def test_in_wait_mode_duplicates_get_the_original_response(make_client: MakeClient) -> None:
    store = WatchedStore()
    client = make_client(store=store, in_flight="wait", wait_timeout=SLOW_TIMEOUT)
    with ThreadPoolExecutor(3) as pool, in_progress(client, "wait-1") as first:
        duplicates = [pool.submit(client.post, "/slow", "wait-1") for _ in range(3)]
        # Each found the key held: from here on they wait, or the test fails with 409s.
        assert store.wait_for_refusals(3)
    original = first.result(SLOW_TIMEOUT)
    for duplicate in duplicates:
        reply = duplicate.result(SLOW_TIMEOUT)
        assert reply.status == 201
        assert reply.body == original.body == b"run 1"
        assert reply.replayed
    assert client.runs["slow"] == 1


def test_in_wait_mode_a_duplicate_gets_409_after_the_wait_timeout(
    make_client: MakeClient,
) -> None:
    client = make_client(in_flight="wait", wait_timeout=0.2)
    with in_progress(client, "wait-2") as first:
        duplicate = client.post("/slow", "wait-2")
    assert_problem(duplicate, 409, "request-in-progress")
    assert int(duplicate.header("retry-after")[0]) >= 1
    assert first.result(SLOW_TIMEOUT).status == 201
    assert client.runs["slow"] == 1


def test_in_wait_mode_a_waiter_runs_when_the_original_is_released(
    make_client: MakeClient,
) -> None:
    store = WatchedStore()
    client = make_client(store=store, in_flight="wait", wait_timeout=SLOW_TIMEOUT)
    with ThreadPoolExecutor(1) as pool, in_progress(client, "wait-3", "/slow?first=503") as first:
        waiter = pool.submit(client.post, "/slow?first=503", "wait-3")
        assert store.wait_for_refusals(1)
    assert first.result(SLOW_TIMEOUT).status == 503
    retried = waiter.result(SLOW_TIMEOUT)
    assert retried.status == 201
    assert retried.body == b"run 2"
    assert not retried.replayed
    assert client.runs["slow"] == 2


def test_a_completed_record_expires_after_the_ttl(make_client: MakeClient) -> None:
    clock = ManualClock()
    client = make_client(store=MemoryStore(clock=clock), ttl=3600)
    client.post("/echo", "ttl-1")
    clock.advance(3599)
    assert client.post("/echo", "ttl-1").replayed
    clock.advance(1)
    fresh = client.post("/echo", "ttl-1")
    assert not fresh.replayed
    assert fresh.json()["run"] == 2
