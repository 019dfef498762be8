"""Per-route options of the ASGI middleware: ``routes={"/webhooks/{id}": {...}}`` sets
``ttl``, ``lease``, ``in_flight`` and the key source of the requests a path template
matches, while other routes keep the middleware's own options."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from idempotency_middleware import ConfigurationError, ManualClock, MemoryStore, from_json
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from tests.asgi.conftest import BASE_URL, Handlers, MakeService, assert_problem

HOOK = "/webhooks/{name}"
DAY = 86_400


async def test_a_routes_ttl_keeps_its_records_while_other_routes_expire(
    make_service: MakeService,
) -> None:
    clock = ManualClock()
    service = make_service(store=MemoryStore(clock=clock), routes={HOOK: {"ttl": 3 * DAY}})
    await service.post("/orders", "o")
    await service.post("/webhooks/github", "w")
    clock.advance(DAY + 1)
    again = await service.post("/orders", "o")
    hook = await service.post("/webhooks/github", "w")
    assert "idempotent-replayed" not in again.headers
    assert hook.headers["idempotent-replayed"] == "true"
    assert service.calls == {"/orders": 2, "/webhooks/github": 1}
    record = await service.record("w")
    assert record is not None
    assert record.expires_at == pytest.approx(clock.now - DAY - 1 + 3 * DAY)


async def test_a_route_key_source_replaces_the_header_there_only(
    make_service: MakeService,
) -> None:
    service = make_service(
        routes={"/webhooks/stripe": {"key": from_json("/id")}, HOOK: {"header": "X-Delivery"}}
    )
    event = {"id": "evt_1", "type": "charge.succeeded"}
    for _ in range(3):
        await service.post("/webhooks/stripe", json_body=event)
        await service.post("/webhooks/github", json_body={}, headers={"X-Delivery": "d1"})
        await service.post("/orders", "k", json_body={})
    assert service.calls == {"/webhooks/stripe": 1, "/webhooks/github": 1, "/orders": 1}
    # The Idempotency-Key header means nothing where a route reads its key elsewhere.
    await service.post("/webhooks/github", "k", json_body={})
    assert service.calls["/webhooks/github"] == 2
    assert await service.record("evt_1") is not None


class Gated:
    """Two gated routes: ``/slow`` under the middleware's options and ``/webhooks/{name}``
    under the route's own."""

    def __init__(self, **options: Any) -> None:
        self.handlers = Handlers()
        routes = [
            Route("/slow", self.handlers.slow, methods=["POST"]),
            Route(HOOK, self.handlers.slow, methods=["POST"]),
        ]
        app = Starlette(routes=routes, middleware=[Middleware(IdempotencyMiddleware, **options)])
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)

    def post(self, path: str, key: str) -> asyncio.Task[httpx.Response]:
        headers = {"Idempotency-Key": key}
        return asyncio.create_task(self.client.post(path, json={"a": 1}, headers=headers))

    async def running(self, path: str, key: str) -> asyncio.Task[httpx.Response]:
        """Start a request and return once its handler runs."""
        self.handlers.entered.clear()
        task = self.post(path, key)
        await asyncio.wait_for(self.handlers.entered.wait(), 5)
        return task


@pytest.fixture
async def gated() -> AsyncIterator[Callable[..., Gated]]:
    made: list[Gated] = []

    def make(**options: Any) -> Gated:
        made.append(Gated(**options))
        return made[-1]

    yield make
    for app in made:
        app.handlers.gate.set()
        await app.client.aclose()


async def test_a_routes_lease_is_the_lease_of_its_claims(
    gated: Callable[..., Gated],
) -> None:
    clock = ManualClock()
    store = MemoryStore(clock=clock)
    app = gated(store=store, lease=30, routes={HOOK: {"lease": 5}})
    first = await app.running("/slow", "a")
    hook = await app.running("/webhooks/x", "b")
    slow_claim = store.get(lookup_key(ANONYMOUS_SCOPE, "a", None))
    hook_claim = store.get(lookup_key(ANONYMOUS_SCOPE, "b", None))
    assert_problem(await app.post("/slow", "a"), 409, "request-in-progress")
    assert slow_claim is not None
    assert hook_claim is not None
    assert slow_claim.expires_at == clock.now + 30
    assert hook_claim.expires_at == clock.now + 5
    app.handlers.gate.set()
    assert (await first).status_code == (await hook).status_code == 201


async def test_a_route_in_wait_mode_holds_its_duplicates_while_others_get_409(
    gated: Callable[..., Gated],
) -> None:
    app = gated(store=MemoryStore(), routes={HOOK: {"in_flight": "wait"}})
    first = await app.running("/webhooks/x", "w")
    waiter = app.post("/webhooks/x", "w")
    slow = await app.running("/slow", "s")
    rejected = await app.post("/slow", "s")
    assert_problem(rejected, 409, "request-in-progress")
    assert not waiter.done()
    app.handlers.gate.set()
    original, replay = await first, await waiter
    await slow
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.content == original.content
    assert app.handlers.calls["slow"] == 2


async def test_the_first_matching_template_wins(make_service: MakeService) -> None:
    clock = ManualClock()
    service = make_service(
        store=MemoryStore(clock=clock),
        routes={"/webhooks/github": {"ttl": 10}, HOOK: {"ttl": 3 * DAY}},
    )
    await service.post("/webhooks/github", "g")
    await service.post("/webhooks/shopify", "s")
    clock.advance(11)
    await service.post("/webhooks/github", "g")
    await service.post("/webhooks/shopify", "s")
    assert service.calls == {"/webhooks/github": 2, "/webhooks/shopify": 1}


async def test_a_route_is_covered_where_include_lists_other_paths(
    make_service: MakeService,
) -> None:
    service = make_service(include=["/orders"], routes={HOOK: {"ttl": 60}})
    for path in ("/orders", "/webhooks/x", "/other"):
        await service.post(path, "k" + path)
        await service.post(path, "k" + path)
    assert service.calls == {"/orders": 1, "/webhooks/x": 1, "/other": 2}


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({HOOK: {"ttl": -1}}, "routes['/webhooks/{name}']: ttl must be a positive number"),
        ({HOOK: {"in_flight": "queue"}}, "routes['/webhooks/{name}']: in_flight must be"),
        ({HOOK: {"tll": 5}}, "routes['/webhooks/{name}'] cannot set tll: a route sets"),
        ({HOOK: {"store": MemoryStore()}}, "cannot set store"),
        ({HOOK: {"methods": ["PUT"]}}, "cannot set methods"),
        ({HOOK: {"header": "X-Id", "key": from_json("/id")}}, "not both"),
        ({HOOK: 60}, "routes['/webhooks/{name}'] must be a dict of options"),
        ({"webhooks": {"ttl": 5}}, "routes: path template 'webhooks' must start with '/'"),
        ([(HOOK, {"ttl": 5})], "routes must be a dict of path templates"),
    ],
)
def test_bad_route_options_fail_at_start_up_naming_the_route(routes: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        IdempotencyMiddleware(Starlette(), store=MemoryStore(), routes=routes)
    assert message in str(raised.value)
