"""The sync and async drivers against MemoryStore, with a clock the tests move."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.drivers import AsyncDriver, SyncDriver
from idempotency_middleware.errors import StoreError
from idempotency_middleware.options import Options
from idempotency_middleware.protocol import exchange
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.replay import replay
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope, lookup_key
from idempotency_middleware.steps import AppResult, Done, Execute, Respond
from idempotency_middleware.stores import MemoryStore

RAW_KEY = "order-7f3a-secret-key"
REQUEST = Request(
    "POST",
    "/orders",
    headers=(("content-type", "application/json"), ("idempotency-key", RAW_KEY)),
    body=b'{"item": "book"}',
)
KEY = lookup_key(default_scope(REQUEST), RAW_KEY, None)
RESPONSE = StoredResponse(201, ((b"content-type", b"application/json"),), b'{"id": 7}')
CREATED = AppResult(201, RESPONSE.headers, False, RESPONSE)
FAILED = AppResult(500, (), False, StoredResponse(500, (), b"oops"))


class FlakyStore(MemoryStore):
    """A MemoryStore whose operations can be made to fail like an unreachable server."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.down: set[str] = set()

    def _check(self, operation: str) -> None:
        if operation in self.down:
            raise StoreError(f"{operation}: connection refused")

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        self._check("claim")
        return super().claim(key, owner, fingerprint, lease)

    def complete(self, key: str, owner: str, response: StoredResponse | None, ttl: float) -> bool:
        self._check("complete")
        return super().complete(key, owner, response, ttl)

    def release(self, key: str, owner: str) -> bool:
        self._check("release")
        return super().release(key, owner)


class Run:
    """One request through a sync or an async driver, with the same awaitable face."""

    def __init__(self, flavor: str, options: Options, request: Request = REQUEST) -> None:
        steps = exchange(options, request, RAW_KEY)
        self.flavor = flavor
        self.sync = SyncDriver(options.store, steps)
        self.async_ = AsyncDriver(options.store, steps)

    async def begin(self) -> Respond | Execute:
        if self.flavor == "sync":
            return self.sync.begin()
        return await self.async_.begin()

    async def finish(self, result: AppResult) -> Done:
        if self.flavor == "sync":
            return self.sync.finish(result)
        return await self.async_.finish(result)


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> FlakyStore:
    return FlakyStore(clock)


@pytest.fixture
def options(store: FlakyStore) -> Options:
    return Options.build(store=store)


def record(store: MemoryStore) -> Record:
    found = store.get(KEY)
    assert found is not None
    return found


# --- the flows --------------------------------------------------------------------------


async def test_fresh_request_runs_and_completes(
    flavor: str, options: Options, store: FlakyStore, clock: ManualClock
) -> None:
    run = Run(flavor, options)
    assert await run.begin() == Execute(protected=True, outcome="executed")
    claim = record(store)
    assert claim.state is RecordState.IN_PROGRESS
    assert claim.fingerprint == options.fingerprint(REQUEST)
    assert claim.expires_at == clock.now + 60
    assert claim.response is None
    clock.advance(2)
    assert await run.finish(CREATED) == Done("executed")
    done = record(store)
    assert done.state is RecordState.COMPLETED
    assert done.owner == claim.owner
    assert done.fingerprint == claim.fingerprint
    assert done.response == RESPONSE
    assert done.expires_at == clock.now + 86_400
    assert len(store) == 1


async def test_duplicate_is_replayed(flavor: str, options: Options, store: FlakyStore) -> None:
    first = Run(flavor, options)
    await first.begin()
    await first.finish(CREATED)
    answer = await Run(flavor, options).begin()
    assert answer == Respond(replay(RESPONSE), "replayed")
    assert answer.response.body == RESPONSE.body
    assert (b"idempotent-replayed", b"true") in answer.response.headers
    assert record(store).response == RESPONSE


async def test_same_key_other_body_is_refused(flavor: str, options: Options) -> None:
    first = Run(flavor, options)
    await first.begin()
    await first.finish(CREATED)
    other = replace(REQUEST, body=b'{"item": "pen"}')
    answer = await Run(flavor, options, other).begin()
    assert isinstance(answer, Respond)
    assert (answer.outcome, answer.response.status) == ("mismatch", 422)


async def test_other_caller_same_key_runs(flavor: str, options: Options, store: FlakyStore) -> None:
    first = Run(flavor, options)
    await first.begin()
    await first.finish(CREATED)
    other_caller = replace(REQUEST, principal="bob")
    assert isinstance(await Run(flavor, options, other_caller).begin(), Execute)
    assert len(store) == 2


@pytest.mark.parametrize("elapsed", [0, 20, 59.5])
async def test_duplicate_in_progress_is_409(
    flavor: str, options: Options, clock: ManualClock, elapsed: float
) -> None:
    await Run(flavor, options).begin()
    clock.advance(elapsed)
    answer = await Run(flavor, options).begin()
    assert isinstance(answer, Respond)
    assert (answer.outcome, answer.response.status) == ("in-progress", 409)
    assert dict(answer.response.headers)[b"retry-after"] == b"1"  # a poll hint, not the lease


@pytest.mark.parametrize("result", [FAILED, AppResult(201, (), True, None)])
async def test_failure_releases_the_key(
    flavor: str, options: Options, store: FlakyStore, result: AppResult
) -> None:
    first = Run(flavor, options)
    await first.begin()
    assert await first.finish(result) == Done("released")
    assert store.get(KEY) is None
    assert isinstance(await Run(flavor, options).begin(), Execute)


async def test_lease_takeover_and_lease_lost(
    flavor: str, options: Options, store: FlakyStore, clock: ManualClock
) -> None:
    old = Run(flavor, options)
    await old.begin()
    old_owner = record(store).owner
    clock.advance(60)
    new = Run(flavor, options)
    assert await new.begin() == Execute(protected=True, outcome="executed")
    taken = record(store)
    assert taken.owner != old_owner
    assert taken.state is RecordState.IN_PROGRESS
    assert taken.expires_at == clock.now + 60
    # The old worker finishes late: it must not overwrite the new owner's record.
    assert await old.finish(CREATED) == Done("lease-lost")
    assert record(store) == taken
    new_response = StoredResponse(201, (), b"second")
    assert await new.finish(AppResult(201, (), False, new_response)) == Done("executed")
    assert record(store).response == new_response
    assert record(store).owner == taken.owner


async def test_old_owner_release_after_takeover_keeps_new_record(
    flavor: str, options: Options, store: FlakyStore, clock: ManualClock
) -> None:
    old = Run(flavor, options)
    await old.begin()
    clock.advance(61)
    await Run(flavor, options).begin()
    taken = record(store)
    await old.finish(FAILED)
    assert record(store) == taken


async def test_lease_not_yet_expired_is_not_taken(
    flavor: str, options: Options, clock: ManualClock
) -> None:
    await Run(flavor, options).begin()
    clock.advance(59.999)
    assert isinstance(await Run(flavor, options).begin(), Respond)


async def test_completed_record_expires(
    flavor: str, options: Options, store: FlakyStore, clock: ManualClock
) -> None:
    first = Run(flavor, options)
    await first.begin()
    await first.finish(CREATED)
    clock.advance(86_399)
    assert isinstance(await Run(flavor, options).begin(), Respond)
    clock.advance(1)
    assert isinstance(await Run(flavor, options).begin(), Execute)


async def test_too_large_response_completes_without_body(
    flavor: str, options: Options, store: FlakyStore
) -> None:
    first = Run(flavor, options)
    await first.begin()
    assert await first.finish(AppResult(200, (), False, None)) == Done("executed")
    assert record(store).state is RecordState.COMPLETED
    assert record(store).response is None
    answer = await Run(flavor, options).begin()
    assert isinstance(answer, Respond)
    assert (answer.outcome, answer.response.status) == ("not-replayable", 409)


async def test_lease_is_renewed_while_the_handler_runs(flavor: str) -> None:
    # SEMANTICS 5: "While the handler runs, its lease is renewed, whatever the client
    # does: a client that timed out and retries must find the first attempt still
    # holding the key." A real clock and a short lease: the handler outlives it.
    store = MemoryStore()
    options = Options.build(store=store, lease=0.2)
    first = Run(flavor, options)
    assert isinstance(await first.begin(), Execute)
    await asyncio.sleep(0.5)
    retry = await Run(flavor, options).begin()
    assert isinstance(retry, Respond)
    assert retry.outcome == "in-progress"
    assert await first.finish(CREATED) == Done("executed")


# --- the store fails --------------------------------------------------------------------


async def test_store_down_fails_closed(flavor: str, options: Options, store: FlakyStore) -> None:
    store.down.add("claim")
    answer = await Run(flavor, options).begin()
    assert isinstance(answer, Respond)
    assert (answer.outcome, answer.response.status) == ("store-unavailable", 503)
    assert dict(answer.response.headers)[b"retry-after"] == b"1"


async def test_store_down_fails_open(flavor: str, store: FlakyStore) -> None:
    options = Options.build(store=store, on_store_error="fail_open")
    store.down.add("claim")
    run = Run(flavor, options)
    assert await run.begin() == Execute(protected=False, outcome="fail-open")
    assert await run.finish(CREATED) == Done("fail-open")
    store.down.clear()
    assert store.get(KEY) is None


@pytest.mark.parametrize(
    ("operation", "result", "outcome"),
    [("complete", CREATED, "completion-failed"), ("release", FAILED, "release-failed")],
)
async def test_store_down_after_the_app(
    flavor: str,
    options: Options,
    store: FlakyStore,
    operation: str,
    result: AppResult,
    outcome: str,
) -> None:
    run = Run(flavor, options)
    await run.begin()
    store.down.add(operation)
    assert await run.finish(result) == Done(outcome)
    # The claim stands until its lease ends: a retry meanwhile is told to wait.
    assert record(store).state is RecordState.IN_PROGRESS


# --- logging: one event per outcome, never the raw key ------------------------------------


async def test_outcomes_are_logged_without_the_raw_key(
    flavor: str, options: Options, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="idempotency_middleware")
    first = Run(flavor, options)
    await first.begin()
    await first.finish(CREATED)
    await Run(flavor, options).begin()
    outcomes = [getattr(r, "idempotency_outcome", None) for r in caplog.records]
    assert outcomes == ["executed", "replayed"]
    for log in caplog.records:
        assert log.name == "idempotency_middleware"
        assert getattr(log, "idempotency_key_digest", None) == KEY[:16]
        assert RAW_KEY not in log.getMessage()
        assert RAW_KEY not in str(log.__dict__)


# --- waiting for the original (in_flight="wait") ------------------------------------------


async def test_waiter_gets_the_original_response(store: FlakyStore) -> None:
    options = Options.build(store=store, in_flight="wait", wait_timeout=5)
    original = Run("async", options)
    await original.begin()
    waiter = asyncio.create_task(Run("async", options).begin())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await original.finish(CREATED)
    assert await asyncio.wait_for(waiter, 5) == Respond(replay(RESPONSE), "replayed")


async def test_waiter_runs_when_the_original_is_released(store: FlakyStore) -> None:
    options = Options.build(store=store, in_flight="wait", wait_timeout=5)
    original = Run("async", options)
    await original.begin()
    waiter = asyncio.create_task(Run("async", options).begin())
    await asyncio.sleep(0.05)
    await original.finish(FAILED)
    assert await asyncio.wait_for(waiter, 5) == Execute(protected=True, outcome="executed")


class TickingClock(ManualClock):
    """Moves one second every time it is read, so a waiter reaches its deadline."""

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_sync_waiter_gives_up_at_the_deadline() -> None:
    store = MemoryStore(clock=TickingClock())
    options = Options.build(store=store, in_flight="wait", wait_timeout=3)
    assert isinstance(SyncDriver(store, exchange(options, REQUEST, RAW_KEY)).begin(), Execute)
    answer = SyncDriver(store, exchange(options, REQUEST, RAW_KEY)).begin()
    assert isinstance(answer, Respond)
    assert (answer.outcome, answer.response.status) == ("in-progress", 409)


# --- MemoryStore: bounds, expiry, atomicity -------------------------------------------------


def test_max_records_evicts_oldest_completed_never_in_progress(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock, max_records=2)
    assert store.claim("a", "o", "f", 60).claimed
    assert store.claim("b", "o", "f", 60).claimed
    assert store.complete("b", "o", RESPONSE, 3600)
    assert store.claim("c", "o", "f", 60).claimed
    assert len(store) == 2
    assert record_state(store, "a") is RecordState.IN_PROGRESS
    assert store.get("b") is None
    assert record_state(store, "c") is RecordState.IN_PROGRESS


def test_a_store_full_of_claims_refuses_a_new_one(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock, max_records=2)
    for key in "ab":
        assert store.claim(key, "o", "f", 60).claimed
    with pytest.raises(StoreError, match="MemoryStore is full"):
        store.claim("c", "o", "f", 60)
    assert len(store) == 2
    assert store.get("c") is None
    assert all(record_state(store, key) is RecordState.IN_PROGRESS for key in "ab")
    # The claims' own owners still renew and complete them.
    assert store.claim("a", "o", "f", 60).claimed
    assert store.complete("a", "o", StoredResponse(200, (), b""), 60)


def test_expired_claims_are_evicted_first(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock, max_records=2)
    store.claim("a", "o", "f", 10)
    store.claim("b", "o", "f", 60)
    clock.advance(10)
    store.claim("c", "o", "f", 60)
    assert len(store) == 2
    assert store.get("a") is None
    assert record_state(store, "b") is RecordState.IN_PROGRESS


def test_max_bytes_evicts_oldest_completed(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock, max_bytes=250)
    for key in "abc":
        store.claim(key, "o", "f", 60)
        store.complete(key, "o", StoredResponse(200, (), b"x" * 100), 3600)
    assert store.get("a") is None
    assert [record_state(store, key) for key in "bc"] == [RecordState.COMPLETED] * 2


def test_purge_removes_expired_records(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock)
    store.claim("lease", "o", "f", 10)
    store.claim("done", "o", "f", 10)
    store.complete("done", "o", RESPONSE, 100)
    store.claim("live", "o", "f", 1000)
    assert store.purge() == 0
    clock.advance(10)
    assert store.purge() == 1
    assert len(store) == 2
    clock.advance(100)
    assert store.purge() == 1
    assert len(store) == 1
    assert record_state(store, "live") is RecordState.IN_PROGRESS


def test_expired_record_reads_as_none(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock)
    store.claim("k", "o", "f", 10)
    clock.advance(10)
    assert store.get("k") is None
    assert store.complete("k", "o", RESPONSE, 100) is False
    assert store.release("k", "o") is False


def test_resent_claim_recognises_its_owner(clock: ManualClock) -> None:
    store = MemoryStore(clock=clock)
    assert store.claim("k", "o1", "f", 60).claimed
    assert store.claim("k", "o1", "f", 60).claimed
    again = store.claim("k", "o2", "f", 60)
    assert not again.claimed
    assert again.record is not None
    assert again.record.owner == "o1"
    assert again.now == clock.now


def record_state(store: MemoryStore, key: str) -> RecordState | None:
    found = store.get(key)
    return None if found is None else found.state


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    return results


def test_sixteen_threads_claim_one_key() -> None:
    store = MemoryStore()
    claims: list[Claim] = in_parallel(16, lambda i: store.claim("k", f"owner-{i}", "f", 60))
    winners = [i for i, claim in enumerate(claims) if claim.claimed]
    assert len(winners) == 1
    for claim in claims:
        assert claim.record is not None
        assert claim.record.owner == f"owner-{winners[0]}"
    assert record_state(store, "k") is RecordState.IN_PROGRESS


def test_sixteen_threads_one_execute() -> None:
    store = MemoryStore()
    options = Options.build(store=store)
    steps = in_parallel(
        16, lambda i: SyncDriver(store, exchange(options, REQUEST, RAW_KEY)).begin()
    )
    executed = [step for step in steps if isinstance(step, Execute)]
    refused = [step for step in steps if isinstance(step, Respond)]
    assert len(executed) == 1
    assert len(refused) == 15
    assert {step.outcome for step in refused} == {"in-progress"}


async def test_concurrent_async_requests_one_execute(store: FlakyStore) -> None:
    options = Options.build(store=store)
    steps = await asyncio.gather(*(Run("async", options).begin() for _ in range(16)))
    assert sum(isinstance(step, Execute) for step in steps) == 1
