"""Idempotent functions on the real stores, sync and async: one run per key, whatever
the concurrency; the stored result for every repeat; the rules of requests for the rest."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from idempotency_middleware import (
    ArgumentsNotEncodableError,
    ConfigurationError,
    InProgressError,
    KeyReusedError,
    RecordState,
    ResultNotStoredError,
    StoreError,
    idempotent,
)
from idempotency_middleware.scope import lookup_key
from idempotency_middleware.stores import RedisStore, Store
from integrations.snippets.functions import consume
from integrations.snippets.functions_codec import create_invoicing
from tests.functions.calls import FACES, assert_threads_book_once, call, decorated
from tests.functions.processes import book_in_process
from tests.redis.servers import REDIS_URL, free_port
from tests.stores.faces import KINDS, database_url, fresh_store
from tests.support.processes import run_processes


@pytest.fixture(params=KINDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty store of each kind; its async face is closed on the test's loop."""
    with fresh_store(request.param, tmp_path) as store:
        yield store
        await store.aclose()


def test_eight_threads_delivering_one_message_book_it_once(store: Store) -> None:
    assert_threads_book_once(store, 8)


async def test_an_asyncio_consumer_handles_a_redelivered_message_once(store: Store) -> None:
    queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
    for attempt in range(5):
        await queue.put({"id": "m-1", "attempt": attempt})
    await queue.put({"id": "m-2", "attempt": 0})
    await queue.put(None)
    seen: list[str] = []

    await consume(queue, store, seen)

    assert seen == ["m-1", "m-2"]


async def test_eight_tasks_calling_with_one_key_run_once(store: Store) -> None:
    runs: list[str] = []

    @idempotent(store, key="delivery_id")
    async def book(delivery_id: str) -> str:
        runs.append(delivery_id)
        await asyncio.sleep(0.05)
        return secrets.token_hex(8)

    receipts = await asyncio.gather(*(book("delivery-1") for _ in range(8)))

    assert runs == ["delivery-1"]
    assert set(receipts) == {receipts[0]}


@pytest.mark.parametrize("face", FACES)
async def test_a_repeat_gets_the_stored_result_and_does_not_run(face: str, store: Store) -> None:
    first = decorated(face, store, lambda key, cents: {"receipt": secrets.token_hex(8)})
    elsewhere = decorated(face, store, lambda key, cents: pytest.fail("ran again"))

    original = await call(first, "delivery-1")

    assert await call(elsewhere, "delivery-1") == original
    assert await call(first, delivery_id="delivery-1", cents=100) == original


@pytest.mark.parametrize("face", FACES)
async def test_the_same_key_with_other_arguments_is_refused(face: str, store: Store) -> None:
    runs: list[int] = []
    book = decorated(face, store, lambda key, cents: runs.append(cents))
    await call(book, "delivery-1", 100)

    with pytest.raises(KeyReusedError, match="use a new key"):
        await call(book, "delivery-1", 200)
    assert runs == [100]


@pytest.mark.parametrize("face", FACES)
async def test_an_exception_frees_the_key_so_a_retry_runs(face: str, store: Store) -> None:
    runs: list[int] = []

    def fail_first(key: str, cents: int) -> int:
        runs.append(cents)
        if len(runs) == 1:
            raise ConnectionError("the payment provider timed out")
        return len(runs)

    book = decorated(face, store, fail_first)
    with pytest.raises(ConnectionError):
        await call(book, "delivery-1")

    assert await call(book, "delivery-1") == 2
    assert await call(book, "delivery-1") == 2
    assert runs == [100, 100]


@pytest.mark.parametrize("face", FACES)
async def test_a_result_the_codec_cannot_store_spends_the_key(face: str, store: Store) -> None:
    runs: list[int] = []

    def unstorable(key: str, cents: int) -> dict[str, set[str]]:
        runs.append(cents)
        return {"tags": {"a"}}

    book = decorated(face, store, unstorable)

    with pytest.raises(ResultNotStoredError, match="could not be stored") as raised:
        await call(book, "delivery-1")
    assert isinstance(raised.value.__cause__, TypeError)
    with pytest.raises(ResultNotStoredError, match="not run again"):
        await call(book, "delivery-1")

    assert runs == [100]
    record = store.get(lookup_key("function:book", "delivery-1", None))
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is None


class TextCodec:
    """A codec that forgets to encode its text."""

    def encode(self, value: Any) -> str:
        return str(value)

    def decode(self, data: bytes) -> Any:
        return data


def test_a_codec_that_returns_no_bytes_stores_nothing(store: Store) -> None:
    book = decorated("sync", store, lambda key, cents: cents, codec=TextCodec())

    with pytest.raises(ResultNotStoredError, match="not bytes"):
        book("delivery-1")
    with pytest.raises(ResultNotStoredError, match="not run again"):
        book("delivery-1")


@pytest.mark.parametrize("face", FACES)
async def test_every_call_returns_what_the_codec_reads_back(face: str, store: Store) -> None:
    book = decorated(face, store, lambda key, cents: {"pair": (1, 2)})

    assert await call(book, "delivery-1") == {"pair": [1, 2]}
    assert await call(book, "delivery-1") == {"pair": [1, 2]}


def test_a_custom_codec_keeps_what_json_cannot(store: Store) -> None:
    moments = iter([datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime.now()])
    invoice = create_invoicing(store, issued=lambda: next(moments))

    first = invoice("order-7")
    repeat = invoice("order-7")

    expected = {
        "order": "order-7",
        "total": Decimal("12.50"),
        "issued": datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
    }
    assert first == repeat == expected


def test_a_call_while_the_first_runs_is_refused_without_waiting(store: Store) -> None:
    running, finish = threading.Event(), threading.Event()

    def slow(key: str, cents: int) -> str:
        running.set()
        finish.wait(timeout=30)
        return "booked"

    book = decorated("sync", store, slow, wait=0)
    first = threading.Thread(target=book, args=("delivery-1",))
    first.start()
    try:
        assert running.wait(timeout=30)
        with pytest.raises(InProgressError, match="still running") as raised:
            book("delivery-1")
        assert raised.value.retry_after >= 1
    finally:
        finish.set()
        first.join(timeout=30)
    assert book("delivery-1") == "booked"


def test_arguments_json_cannot_hold_need_a_fingerprint(store: Store) -> None:
    @idempotent(store, key="delivery_id")
    def book(delivery_id: str, when: datetime) -> str:
        return delivery_id

    with pytest.raises(ArgumentsNotEncodableError, match="fingerprint="):
        book("delivery-1", datetime.now())

    @idempotent(store, key="delivery_id", fingerprint=lambda delivery_id, when: when.isoformat())
    def rebook(delivery_id: str, when: datetime) -> str:
        return delivery_id

    assert rebook("delivery-1", datetime(2026, 1, 1)) == "delivery-1"
    with pytest.raises(KeyReusedError):
        rebook("delivery-1", datetime(2026, 1, 2))


def test_a_key_that_names_no_parameter_is_a_configuration_error(store: Store) -> None:
    with pytest.raises(ConfigurationError, match="names no parameter"):

        @idempotent(store, key="message_id")
        def book(delivery_id: str) -> None: ...


@pytest.mark.parametrize("face", FACES)
async def test_an_unreachable_store_runs_nothing_unless_failing_open(face: str) -> None:
    runs: list[int] = []

    def run(key: str, cents: int) -> str:
        runs.append(cents)
        return "ran"

    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(StoreError, match="did not run"):
            await call(decorated(face, store, run), "delivery-1")
        assert runs == []

        opened = decorated(face, store, run, on_store_error="fail_open")
        assert await call(opened, "delivery-1") == "ran"
    finally:
        store.close()
        await store.aclose()
    assert runs == [100]


async def test_a_cancelled_call_frees_its_key(store: Store) -> None:
    started = asyncio.Event()
    runs: list[str] = []

    @idempotent(store, key="delivery_id")
    async def book(delivery_id: str) -> int:
        runs.append(delivery_id)
        if len(runs) == 1:
            started.set()
            await asyncio.Event().wait()
        return len(runs)

    first = asyncio.create_task(book("delivery-1"))
    await started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    assert await book("delivery-1") == 2


PROCESS_KINDS = [kind for kind in KINDS if kind.values[0] != "memory"]


@pytest.mark.parametrize("kind", PROCESS_KINDS)
def test_six_processes_delivering_one_message_book_it_once(kind: str, tmp_path: Path) -> None:
    counter = f"idem-test:effects:{secrets.token_hex(8)}"
    effects = redis.Redis.from_url(REDIS_URL)
    try:
        with fresh_store(kind, tmp_path) as store:
            url = REDIS_URL if kind == "redis" else database_url(kind, tmp_path)
            where = getattr(store, "prefix", None) or store.table.name  # type: ignore[attr-defined]
            outcomes = run_processes(book_in_process, [(kind, url, where, counter)] * 6)
        assert effects.get(counter) == b"1"
    finally:
        effects.delete(counter)
        effects.close()
    assert {json.loads(outcome)["effect"] for outcome in outcomes} == {1}, outcomes
