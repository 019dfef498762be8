"""What only the generic WSGI middleware shows, called as a server calls it: request bodies,
the moment of completion, clients that leave, ``write()`` and ``REMOTE_USER``. The rules
every adapter shares are in tests/behaviour."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pytest

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.records import RecordState
from idempotency_middleware.stores import MemoryStore
from idempotency_middleware.wsgi import IdempotencyMiddleware
from tests.wsgi.conftest import (
    assert_completed_without_a_body,
    assert_problem,
    chunked_app,
    environ,
    record_of,
    serve,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class Orders:
    """A WSGI app that counts its runs and answers 201 with repeated headers and a cookie."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.bodies: list[bytes] = []

    def __call__(self, env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        self.calls["orders"] += 1
        body = env["wsgi.input"].read()
        self.bodies.append(body)
        run = self.calls["orders"]
        answer = b'{"run": %d, "received": "%s"}' % (run, body)
        start_response(
            "201 Created",
            [
                ("Content-Type", "application/json"),
                ("Location", f"/orders/{run}"),
                ("X-Custom", "first"),
                ("Set-Cookie", f"session=secret-{run}"),
                ("X-Custom", "second"),
                ("Date", f"Mon, 01 Jan 2024 00:00:{run:02d} GMT"),
                ("Content-Length", str(len(answer))),
            ],
        )
        return [answer]


@pytest.fixture
def orders() -> Orders:
    return Orders()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def post(key: str | None, body: bytes = b'{"item": "book"}', **kwargs: Any) -> WSGIEnvironment:
    headers = [("Content-Type", "application/json")]
    if key is not None:
        headers.append(("Idempotency-Key", key))
    return environ(body=body, headers=[*headers, *kwargs.pop("headers", [])], **kwargs)


def test_a_declared_body_over_the_limit_is_413_unread(orders: Orders, store: MemoryStore) -> None:
    env = post("k1", body=b"x" * 101)
    response = serve(IdempotencyMiddleware(orders, store=store, max_request_bytes=100), env)
    assert_problem(response, 413, "request-too-large")
    assert env["wsgi.input"].tell() == 0
    assert orders.calls["orders"] == 0


def test_a_chunked_body_over_the_limit_is_413(orders: Orders, store: MemoryStore) -> None:
    env = post("k1", body=b"x" * 101, content_length=False, **{"wsgi.input_terminated": True})
    response = serve(IdempotencyMiddleware(orders, store=store, max_request_bytes=100), env)
    assert_problem(response, 413, "request-too-large")
    assert orders.calls["orders"] == 0


def test_a_chunked_body_within_the_limit_reaches_the_app(
    orders: Orders, store: MemoryStore
) -> None:
    env = post("k1", body=b"x" * 100, content_length=False, **{"wsgi.input_terminated": True})
    serve(IdempotencyMiddleware(orders, store=store, max_request_bytes=100), env)
    assert orders.bodies == [b"x" * 100]


def test_a_body_cut_short_by_the_client_runs_nothing(orders: Orders, store: MemoryStore) -> None:
    env = post("k1", body=b'{"item"', CONTENT_LENGTH="100")
    response = serve(IdempotencyMiddleware(orders, store=store), env)
    assert response.code == 400
    assert orders.calls["orders"] == 0
    assert record_of(store, "k1") is None


def test_remote_user_scopes_keys(orders: Orders, store: MemoryStore) -> None:
    app = IdempotencyMiddleware(orders, store=store)
    alice = serve(app, post("k1", REMOTE_USER="alice"))
    bob = serve(app, post("k1", REMOTE_USER="bob"))
    again = serve(app, post("k1", REMOTE_USER="alice"))
    assert orders.calls["orders"] == 2
    assert alice.body != bob.body
    assert again.body == alice.body
    assert record_of(store, "k1", "user:alice") is not None


def raising_app(calls: Counter[str], *, when: str) -> Any:
    def app(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["raising"] += 1
        if when == "call" and calls["raising"] == 1:
            raise RuntimeError("handler failed")
        start_response("201 Created", [])

        def produce() -> Iterable[bytes]:
            yield b"part one,"
            if calls["raising"] == 1:
                raise RuntimeError("stream failed")
            yield b"part two"

        return produce()

    return app


def test_an_exception_releases_the_key(store: MemoryStore) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(raising_app(calls, when="call"), store=store)
    with pytest.raises(RuntimeError):
        serve(app, post("k1"))
    assert record_of(store, "k1") is None
    retry = serve(app, post("k1"))
    assert retry.body == b"part one,part two"
    assert calls["raising"] == 2


def test_an_exception_after_the_response_started_completes_it_without_a_body(
    store: MemoryStore,
) -> None:
    # SEMANTICS 5: the status line went out, so the handler ran and answered.
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(raising_app(calls, when="iteration"), store=store)
    with pytest.raises(RuntimeError):
        serve(app, post("k1"))
    assert_completed_without_a_body(record_of(store, "k1"), serve(app, post("k1")))
    assert calls["raising"] == 1


def test_the_record_completes_before_the_last_declared_byte_is_handed_over(
    store: MemoryStore,
) -> None:
    calls: Counter[str] = Counter()
    states: list[RecordState | None] = []
    app = IdempotencyMiddleware(
        chunked_app(calls, [b"abc", b"def"], headers=[("Content-Length", "6")]), store=store
    )

    def observe(index: int, chunk: bytes) -> None:
        record = record_of(store, "k1")
        states.append(None if record is None else record.state)

    serve(app, post("k1"), on_chunk=observe)
    assert states == [RecordState.IN_PROGRESS, RecordState.COMPLETED]


def test_without_content_length_the_record_completes_as_the_iterable_ends(
    store: MemoryStore,
) -> None:
    # The server writes the end of a chunked body only after StopIteration reaches it.
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(chunked_app(calls, [b"abc", b"def"]), store=store)
    result = app(post("k1"), lambda status, headers, exc_info=None: lambda data: None)
    iterator = iter(result)
    assert [next(iterator) for _ in range(2)] == [b"abc", b"def"]
    record = record_of(store, "k1")
    assert record is not None
    assert record.state is RecordState.IN_PROGRESS
    with pytest.raises(StopIteration):
        next(iterator)
    record = record_of(store, "k1")
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is not None
    assert record.response.body == b"abcdef"


def test_a_client_that_leaves_releases_nothing(store: MemoryStore) -> None:
    calls: Counter[str] = Counter()
    closed: list[bool] = []
    app = IdempotencyMiddleware(
        chunked_app(calls, [b"one,", b"two,", b"three"], closed=closed), store=store
    )
    gone = serve(app, post("k1"), stop_after=1)
    replay = serve(app, post("k1"))
    assert gone.body == b"one,"
    assert closed == [True]
    assert replay.body == b"one,two,three"
    assert replay.header("idempotent-replayed") == ["true"]
    assert calls["chunked"] == 1


def test_a_client_that_leaves_a_response_too_large_to_store_completes_it_without_a_body(
    store: MemoryStore,
) -> None:
    calls: Counter[str] = Counter()
    chunks = [b"x" * 60] * 4
    app = IdempotencyMiddleware(chunked_app(calls, chunks), store=store, max_response_bytes=100)
    serve(app, post("k1"), stop_after=1)
    assert_completed_without_a_body(record_of(store, "k1"), serve(app, post("k1")))
    assert calls["chunked"] == 1


def test_a_response_shorter_than_its_content_length_is_not_replayed(store: MemoryStore) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(
        chunked_app(calls, [b"abc"], headers=[("Content-Length", "10")]), store=store
    )
    serve(app, post("k1"))
    assert_completed_without_a_body(record_of(store, "k1"), serve(app, post("k1")))
    assert calls["chunked"] == 1


def test_the_write_callable_is_captured(store: MemoryStore) -> None:
    calls: Counter[str] = Counter()

    def legacy(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["legacy"] += 1
        write = start_response("200 OK", [("Content-Length", "11")])
        write(b"hello ")
        write(b"world")
        return []

    app = IdempotencyMiddleware(legacy, store=store)
    first = serve(app, post("k1"))
    replay = serve(app, post("k1"))
    assert first.body == replay.body == b"hello world"
    assert replay.header("idempotent-replayed") == ["true"]
    assert calls["legacy"] == 1


def test_an_empty_response_is_stored(store: MemoryStore) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(chunked_app(calls, [], status="204 No Content"), store=store)
    serve(app, post("k1"))
    replay = serve(app, post("k1"))
    assert replay.code == 204
    assert replay.body == b""
    assert not replay.header("content-length")
    assert calls["chunked"] == 1


def test_the_app_reads_the_body_the_middleware_read(store: MemoryStore) -> None:
    seen: list[tuple[bytes, bytes]] = []

    def echo(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        stream = env["wsgi.input"]
        seen.append((stream.read(3), stream.read()))
        start_response("200 OK", [])
        return [b""]

    serve(IdempotencyMiddleware(echo, store=store), post("k1", body=b"abcdef"))
    assert seen == [(b"abc", b"def")]


def test_a_request_not_covered_gets_the_apps_own_iterable(store: MemoryStore) -> None:
    answer = [b"untouched"]

    def app(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return answer

    middleware = IdempotencyMiddleware(app, store=store)
    assert middleware(environ("GET"), lambda *args: lambda data: None) is answer


def test_misconfiguration_raises_at_construction(orders: Orders) -> None:
    with pytest.raises(ConfigurationError, match="store is required"):
        IdempotencyMiddleware(orders)
    with pytest.raises(ConfigurationError, match="ttl"):
        IdempotencyMiddleware(orders, store=MemoryStore(), ttl=-1)


def test_a_route_takes_its_own_key_header(orders: Orders, store: MemoryStore) -> None:
    app = IdempotencyMiddleware(orders, store=store, routes={"/orders": {"header": "X-Delivery"}})
    delivery = [("X-Delivery", "d-1")]
    first = serve(app, post(None, headers=delivery))
    second = serve(app, post(None, headers=delivery))
    assert orders.calls["orders"] == 1
    assert second.header("idempotent-replayed") == ["true"]
    assert second.body == first.body
