"""Duplicates that overlap the first request: in-progress answers, wait mode, leases and
the moment of completion (SEMANTICS section 5)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx

from idempotency_middleware import ManualClock, MemoryStore, RecordState, StoredResponse
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Message
from idempotency_middleware.fingerprint import RequestFingerprint
from idempotency_middleware.request import Request
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from tests.asgi.conftest import (
    MakeService,
    Service,
    StoreFactory,
    assert_problem,
    http_scope,
    raw_app,
    run_asgi,
)


async def start_slow(
    service: Service, key: str, path: str = "/slow"
) -> asyncio.Task[httpx.Response]:
    """Send a request to the gated handler and return once the handler is running."""
    task = asyncio.create_task(service.post(path, key, json_body={"a": 1}))
    await asyncio.wait_for(service.handlers.entered.wait(), 5)
    return task


async def test_duplicate_in_progress_is_409_with_retry_after(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    first = await start_slow(service, "busy")
    duplicate = await service.post("/slow", "busy", json_body={"a": 1})
    assert_problem(duplicate, 409, "request-in-progress")
    assert int(duplicate.headers["retry-after"]) >= 1
    record = await service.record("busy")
    assert record is not None
    assert record.state is RecordState.IN_PROGRESS
    service.handlers.gate.set()
    original = await first
    assert original.status_code == 201
    replay = await service.post("/slow", "busy", json_body={"a": 1})
    assert replay.json() == original.json() == {"run": 1}
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["slow"] == 1


async def test_retry_after_is_a_short_poll_hint_not_the_lease(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    # Retrying clients (urllib3, httpx-retries) sleep Retry-After: the lease would make
    # them wait a minute for a response that is ready in a second.
    clock = ManualClock()
    service = make_service(store=make_store(clock), lease=60)
    first = await start_slow(service, "lease")
    assert (await service.post("/slow", "lease", json_body={"a": 1})).headers["retry-after"] == "1"
    clock.advance(30)
    assert (await service.post("/slow", "lease", json_body={"a": 1})).headers["retry-after"] == "1"
    clock.advance(29.5)
    assert (await service.post("/slow", "lease", json_body={"a": 1})).headers["retry-after"] == "1"
    service.handlers.gate.set()
    await first


async def test_wait_mode_answers_duplicates_with_the_original(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store(), in_flight="wait", wait_timeout=5)
    first = await start_slow(service, "w")
    duplicates = [
        asyncio.create_task(service.post("/slow", "w", json_body={"a": 1})) for _ in range(3)
    ]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in duplicates)  # held, not answered 409
    service.handlers.gate.set()
    original = await first
    for duplicate in await asyncio.gather(*duplicates):
        assert duplicate.status_code == 201
        assert duplicate.json() == original.json() == {"run": 1}
        assert duplicate.headers["idempotent-replayed"] == "true"
    assert service.calls["slow"] == 1


async def test_wait_mode_gives_409_after_wait_timeout(make_service: MakeService) -> None:
    service = make_service(in_flight="wait", wait_timeout=0.2)
    first = await start_slow(service, "wt")
    started = time.monotonic()
    duplicate = await service.post("/slow", "wt", json_body={"a": 1})
    waited = time.monotonic() - started
    assert_problem(duplicate, 409, "request-in-progress")
    assert int(duplicate.headers["retry-after"]) >= 1
    assert 0.15 <= waited < 2
    service.handlers.gate.set()
    assert (await first).status_code == 201
    assert service.calls["slow"] == 1


async def test_wait_mode_waiter_runs_when_the_original_raises(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(
        store=make_store(), in_flight="wait", wait_timeout=5, raise_app_exceptions=False
    )
    first = await start_slow(service, "wr", "/slow?fail=first")
    waiter = asyncio.create_task(service.post("/slow?fail=first", "wr", json_body={"a": 1}))
    await asyncio.sleep(0.05)
    assert service.calls["slow"] == 1
    service.handlers.gate.set()
    original, retried = await asyncio.gather(first, waiter)
    assert original.status_code == 500
    assert retried.status_code == 201
    assert retried.json() == {"run": 2}
    assert "idempotent-replayed" not in retried.headers
    assert service.calls["slow"] == 2


async def test_retry_sent_as_the_final_body_leaves_is_a_replay() -> None:
    store = MemoryStore()
    calls: Counter[str] = Counter()
    inner = raw_app(201, [(b"content-type", b"text/plain")], [b"part-1 ", b"part-2"], calls)
    app = IdempotencyMiddleware(inner, store=store)
    scope = http_scope(path="/pay", headers=[(b"idempotency-key", b"now")])
    seen: list[object] = []

    async def on_send(message: Message) -> None:
        if message["type"] != "http.response.body" or message.get("more_body", False):
            return
        record = store.get(lookup_key(ANONYMOUS_SCOPE, "now", None))
        assert record is not None
        seen.append(record.state)
        retry = await run_asgi(app, dict(scope), [b"body"])
        seen.extend([retry.status, retry.body, retry.header_values(b"idempotent-replayed")])

    first = await run_asgi(app, dict(scope), [b"body"], on_send=on_send)
    assert first.body == b"part-1 part-2"
    assert seen == [RecordState.COMPLETED, 201, b"part-1 part-2", [b"true"]]
    assert calls["raw"] == 1


async def test_expired_lease_of_a_dead_worker_is_taken_over(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    clock = ManualClock()
    store = make_store(clock)
    service = make_service(store=store, lease=60)
    body = b'{"a":1}'
    headers = {"Idempotency-Key": "dead", "Content-Type": "application/json"}
    request = Request("POST", "/orders", "", (("content-type", "application/json"),), body)
    key = service.lookup("dead")
    assert store.claim(key, "dead-worker", RequestFingerprint()(request), 60).claimed

    before = await service.client.post("/orders", content=body, headers=headers)
    assert_problem(before, 409, "request-in-progress")
    clock.advance(59.5)
    assert (await service.client.post("/orders", content=body, headers=headers)).status_code == 409
    assert service.calls["/orders"] == 0

    clock.advance(0.5)
    taken = await service.client.post("/orders", content=body, headers=headers)
    assert taken.status_code == 201
    assert service.calls["/orders"] == 1

    stale = StoredResponse(200, ((b"content-type", b"text/plain"),), b"stale")
    assert store.complete(key, "dead-worker", stale, 86_400) is False
    assert store.release(key, "dead-worker") is False
    replay = await service.client.post("/orders", content=body, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == taken.json()
    assert service.calls["/orders"] == 1


async def test_lease_is_renewed_while_the_handler_runs(make_service: MakeService) -> None:
    service = make_service(lease=0.3)
    first = await start_slow(service, "renew")
    await asyncio.sleep(0.7)  # more than two leases: only renewal keeps the key held
    duplicate = asyncio.create_task(service.post("/slow", "renew", json_body={"a": 1}))
    try:
        for _ in range(100):
            if duplicate.done() or service.calls["slow"] > 1:
                break
            await asyncio.sleep(0.01)
        assert service.calls["slow"] == 1
        assert_problem(await duplicate, 409, "request-in-progress")
    finally:
        service.handlers.gate.set()
        await asyncio.gather(first, duplicate)


async def test_client_disconnect_does_not_release_a_finished_response(service: Service) -> None:
    scope = http_scope(
        path="/orders",
        headers=[(b"idempotency-key", b"gone"), (b"content-type", b"application/json")],
    )
    sent: list[Message] = []
    messages: list[Message] = [
        {"type": "http.request", "body": b"{}", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:  # a server that drops what the gone client misses
        sent.append(message)

    await service.app(scope, receive, send)
    record = await service.record("gone")
    assert record is not None
    assert record.state is RecordState.COMPLETED
    replay = await service.post("/orders", "gone", json_body={})
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


async def test_send_error_after_disconnect_keeps_the_produced_response() -> None:
    store = MemoryStore()
    calls: Counter[str] = Counter()
    inner = raw_app(201, [(b"content-type", b"text/plain")], [b"done"], calls)
    app = IdempotencyMiddleware(inner, store=store)
    scope = http_scope(path="/pay", headers=[(b"idempotency-key", b"gone")])

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        raise OSError("client disconnected")

    # The middleware may re-raise (the server expects it) or swallow the error.
    with contextlib.suppress(OSError):
        await app(scope, receive, send)
    retry = await run_asgi(app, dict(scope))
    assert retry.header_values(b"idempotent-replayed") == [b"true"]
    assert calls["raw"] == 1


class SlowCompleteStore(MemoryStore):
    """A store whose completion takes a moment, as over a network."""

    def __init__(self) -> None:
        super().__init__()
        self.completing = asyncio.Event()

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        self.completing.set()
        await asyncio.sleep(0.05)
        return await super().acomplete(key, owner, response, ttl)


async def test_disconnect_during_completion_still_completes(make_service: MakeService) -> None:
    store = SlowCompleteStore()
    service = make_service(store=store)
    scope = http_scope(
        path="/stream", headers=[(b"idempotency-key", b"cut")], query_string=b"chunks=3&size=4"
    )
    messages: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await store.completing.wait()  # the client leaves as the last chunk is due
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        pass

    await service.app(scope, receive, send)
    await asyncio.sleep(0.1)
    record = await service.record("cut")
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert service.calls["stream"] == 1


def test_only_a_store_whose_async_faces_never_suspend_skips_the_shield() -> None:
    assert MemoryStore.suspends is False
    # A subclass may await in its async faces, as SlowCompleteStore does.
    assert SlowCompleteStore.suspends is True
