"""Encryption at rest, against the Redis and PostgreSQL servers: the server never holds
a plaintext body, replays return the original, and keys rotate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.encryption import generate_key
from idempotency_middleware.outcomes import OutcomeEvent
from idempotency_middleware.stores import Store
from tests.redis.servers import REDIS_URL, redis_store, unique_prefix
from tests.stores.faces import fresh_store
from tests.support.databases import POSTGRES_URL, sql_store, unique_table_name

MARKER = b"card-4242-plaintext-marker"
OLD, NEW = generate_key(), generate_key()


@dataclass
class Server:
    """A store on a real server, and every byte string the server holds for it."""

    store: Store
    held: Callable[[], list[bytes]]


@contextmanager
def redis_server() -> Iterator[Server]:
    prefix = unique_prefix()
    client = redis.Redis.from_url(REDIS_URL)

    def held() -> list[bytes]:
        values: list[bytes] = []
        for name in client.scan_iter(match=f"{prefix}*"):
            values.extend(
                value if isinstance(value, bytes) else value.encode()
                for value in client.hgetall(name).values()
            )
        return values

    try:
        with redis_store(prefix=prefix) as store:
            yield Server(store, held)
    finally:
        client.close()


@contextmanager
def postgres_server() -> Iterator[Server]:
    table = unique_table_name()
    engine = sa.create_engine(POSTGRES_URL)

    def held() -> list[bytes]:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(f"SELECT * FROM {table}")).all()
        return [
            bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
            for row in rows
            for value in row
        ]

    try:
        with sql_store(POSTGRES_URL, table_name=table) as store:
            yield Server(store, held)
    finally:
        engine.dispose()


@pytest.fixture(params=["redis", pytest.param("postgres", marks=pytest.mark.postgres)])
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    make = redis_server if request.param == "redis" else postgres_server
    with make() as found:
        yield found
        await found.store.aclose()


@dataclass
class Shop:
    """An app behind the middleware whose view answers with what it was sent."""

    client: httpx.AsyncClient
    runs: int = 0
    outcomes: list[str] = field(default_factory=list)

    async def post(self, key: str, body: bytes = MARKER) -> httpx.Response:
        return await self.client.post("/orders", content=body, headers={"Idempotency-Key": key})


@pytest.fixture
async def make_shop() -> AsyncIterator[Callable[..., Shop]]:
    clients: list[httpx.AsyncClient] = []

    def make(store: Store, keys: Sequence[str]) -> Shop:
        async def order(request: Request) -> Response:
            shop.runs += 1
            return Response(b"accepted: " + await request.body(), status_code=201)

        def seen(event: OutcomeEvent) -> None:
            shop.outcomes.append(event.outcome)

        app: Any = IdempotencyMiddleware(
            Starlette(routes=[Route("/orders", order, methods=["POST"])]),
            store=store,
            encryption_keys=keys,
            on_outcome=seen,
        )
        shop = Shop(httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t"))
        clients.append(shop.client)
        return shop

    yield make
    for client in clients:
        await client.aclose()


async def test_the_server_holds_no_plaintext_and_replays_the_original(
    server: Server, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(server.store, [NEW])
    first = await shop.post("k1")
    assert first.status_code == 201
    assert MARKER in first.content
    held = server.held()
    assert held, "the server holds the record"
    assert not [value for value in held if MARKER in value]
    replay = await shop.post("k1")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == first.content
    assert shop.runs == 1


async def test_without_keys_the_server_holds_the_plaintext(
    server: Server, make_shop: Callable[..., Shop]
) -> None:
    shop = make_shop(server.store, [])
    await shop.post("k1")
    assert [value for value in server.held() if MARKER in value]


async def test_keys_rotate(server: Server, make_shop: Callable[..., Shop]) -> None:
    before = make_shop(server.store, [OLD])
    original = await before.post("written-with-old")
    assert original.status_code == 201

    # The new key first: it encrypts, the old one still decrypts.
    rotating = make_shop(server.store, [NEW, OLD])
    replay = await rotating.post("written-with-old")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == original.content
    newer = await rotating.post("written-with-new")
    assert newer.status_code == 201

    # The old key dropped: its records cannot be read, and are not run again.
    after = make_shop(server.store, [NEW])
    assert (await after.post("written-with-new")).content == newer.content
    undecodable = await after.post("written-with-old")
    assert undecodable.status_code == 503
    assert undecodable.headers["content-type"] == "application/problem+json"
    assert after.runs == 0
    assert after.outcomes == ["replayed", "record-undecodable"]


STORE_KINDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres), "redis"]


@pytest.mark.parametrize("kind", STORE_KINDS)
async def test_a_worker_without_keys_never_replays_an_encrypted_body(
    kind: str, tmp_path: Path, make_shop: Callable[..., Shop]
) -> None:
    with fresh_store(kind, tmp_path) as store:
        written = await make_shop(store, [NEW]).post("sealed-1")
        assert written.status_code == 201
        plain = make_shop(store, [])
        answer = await plain.post("sealed-1")
        await store.aclose()
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/store-unavailable/")
    assert MARKER not in answer.content
    assert plain.runs == 0
    assert plain.outcomes == ["record-undecodable"]


@pytest.mark.parametrize("kind", STORE_KINDS)
async def test_a_worker_with_keys_never_replays_a_plain_body(
    kind: str, tmp_path: Path, make_shop: Callable[..., Shop]
) -> None:
    with fresh_store(kind, tmp_path) as store:
        assert (await make_shop(store, []).post("plain-1")).status_code == 201
        sealed = make_shop(store, [NEW])
        answer = await sealed.post("plain-1")
        await store.aclose()
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert sealed.runs == 0
    assert sealed.outcomes == ["record-undecodable"]
