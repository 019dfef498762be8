"""What a user of the ASGI middleware observes: set-up, coverage and replay
(SEMANTICS sections 1, 4, 6 and 7)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse

from idempotency_middleware import (
    ConfigurationError,
    ManualClock,
    MemoryStore,
    RecordState,
    from_json,
)
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Message, Receive, Scope, Send
from tests.asgi.conftest import (
    BASE_URL,
    MakeService,
    Service,
    StoreFactory,
    assert_problem,
    http_scope,
    raw_app,
    run_asgi,
)

DROPPED = {b"content-length", b"set-cookie", b"date", b"idempotent-replayed"}


def kept(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The header lines a replay must repeat, in order."""
    return [(n.lower(), v) for n, v in response.headers.raw if n.lower() not in DROPPED]


# -- set-up -----------------------------------------------------------------------------


def test_missing_store_is_a_configuration_error_naming_the_stores() -> None:
    with pytest.raises(ConfigurationError) as raised:
        IdempotencyMiddleware(Starlette())
    message = str(raised.value)
    assert "store" in message
    assert "MemoryStore" in message
    assert "SQLAlchemyStore" in message


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"store": object()}, "store"),
        ({"in_flight": "queue"}, "in_flight"),
        ({"on_store_error": "ignore"}, "on_store_error"),
        ({"lease": 0}, "lease"),
        ({"ttl": -1}, "ttl"),
        ({"methods": "POST"}, "methods"),
        ({"required": ["orders/{id}"]}, "orders/{id}"),
        ({"fingerprint": "body"}, "fingerprint"),
        ({"header": "X-Id", "key": from_json("/id")}, "header"),
    ],
)
def test_wrong_option_fails_at_construction_naming_it(options: dict[str, Any], named: str) -> None:
    options.setdefault("store", MemoryStore())
    with pytest.raises(ConfigurationError, match=re.escape(named)):
        IdempotencyMiddleware(Starlette(), **options)


def test_missing_store_fails_when_fastapi_builds_its_stack() -> None:
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware)  # see conftest
    with pytest.raises(ConfigurationError, match="MemoryStore"):
        app.build_middleware_stack()


async def test_fastapi_add_middleware_protects_a_route() -> None:
    app = FastAPI()
    calls: Counter[str] = Counter()

    @app.post("/payments")
    async def pay(request: Request) -> JSONResponse:
        calls["pay"] += 1
        return JSONResponse({"paid": calls["pay"], "body": (await request.json())}, 201)

    app.add_middleware(IdempotencyMiddleware, store=MemoryStore())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        headers = {"Idempotency-Key": "pay-1"}
        first = await client.post("/payments", json={"amount": 5}, headers=headers)
        second = await client.post("/payments", json={"amount": 5}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json() == {"paid": 1, "body": {"amount": 5}}
    assert second.headers["idempotent-replayed"] == "true"
    assert calls["pay"] == 1


async def test_plain_starlette_app_protects_a_route(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    first = await service.post("/orders", "k", json_body={"n": 1})
    second = await service.post("/orders", "k", json_body={"n": 1})
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


async def test_bare_asgi_callable_is_protected() -> None:
    calls: Counter[str] = Counter()
    inner = raw_app(201, [(b"content-type", b"text/plain")], [b"made"], calls)
    app = IdempotencyMiddleware(inner, store=MemoryStore())
    scope = http_scope(path="/things", headers=[(b"idempotency-key", b"raw-1")])
    first = await run_asgi(app, dict(scope), [b"payload"])
    second = await run_asgi(app, dict(scope), [b"payload"])
    assert first.status == second.status == 201
    assert first.body == second.body == b"made"
    assert second.header_values(b"idempotent-replayed") == [b"true"]
    assert calls["raw"] == 1


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through_untouched(scope_type: str) -> None:
    seen: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{scope_type}.disconnect"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    scope: Scope = {"type": scope_type, "asgi": {"version": "3.0"}, "path": "/orders"}
    await IdempotencyMiddleware(inner, store=MemoryStore())(scope, receive, send)
    assert seen == [(scope, receive, send)]
    assert seen[0][0] is scope
    assert seen[0][1] is receive
    assert seen[0][2] is send


# -- which requests are covered (section 1) --------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_other_methods_pass_through_even_with_a_key(
    make_service: MakeService, method: str
) -> None:
    service = make_service(max_request_bytes=8)
    big = b"x" * 100  # over max_request_bytes: passed through, not answered 413
    responses = [
        await service.client.request(
            method, "/orders", content=big, headers={"Idempotency-Key": "same"}
        )
        for _ in range(2)
    ]
    assert [r.json()["run"] for r in responses] == [1, 2]
    assert all("idempotent-replayed" not in r.headers for r in responses)
    assert responses[0].json()["received"] == big.decode()
    assert await service.record("same") is None


async def test_patch_is_covered_by_default(service: Service) -> None:
    headers = {"Idempotency-Key": "p"}
    first = await service.client.patch("/orders", json={"a": 1}, headers=headers)
    second = await service.client.patch("/orders", json={"a": 1}, headers=headers)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


async def test_methods_option_chooses_the_covered_methods(make_service: MakeService) -> None:
    service = make_service(methods=["PUT"])
    headers = {"Idempotency-Key": "m"}
    puts = [await service.client.put("/orders", json={}, headers=headers) for _ in range(2)]
    posts = [await service.client.post("/other", json={}, headers=headers) for _ in range(2)]
    assert puts[1].headers["idempotent-replayed"] == "true"
    assert [r.json()["run"] for r in posts] == [1, 2]
    assert service.calls == Counter({"/orders": 1, "/other": 2})


async def test_post_without_a_key_runs_normally(service: Service) -> None:
    responses = [await service.post("/orders", json_body={"a": 1}) for _ in range(2)]
    assert [r.status_code for r in responses] == [201, 201]
    assert [r.json()["run"] for r in responses] == [1, 2]
    assert all("idempotent-replayed" not in r.headers for r in responses)
    assert "set-cookie" in responses[0].headers


async def test_required_route_without_key_is_400_key_missing(make_service: MakeService) -> None:
    service = make_service(required=["/orders/{id}/pay"])
    response = await service.post("/orders/7/pay", json_body={"a": 1})
    assert_problem(response, 400, "key-missing")
    assert service.calls["/orders/7/pay"] == 0
    with_key = await service.post("/orders/7/pay", "k", json_body={"a": 1})
    assert with_key.status_code == 201
    # Other routes stay optional.
    assert (await service.post("/orders", json_body={"a": 1})).status_code == 201


async def test_excluded_route_ignores_the_key(make_service: MakeService) -> None:
    service = make_service(exclude=["/webhooks/{name}"])
    for key in ("hook", "hook", ""):  # even an invalid key is ignored
        response = await service.post("/webhooks/github", key, json_body={"a": 1})
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert service.calls["/webhooks/github"] == 3
    assert await service.record("hook") is None


async def test_key_on_a_route_outside_include_is_ignored(make_service: MakeService) -> None:
    service = make_service(include=["/orders"])
    for key in ("k", "k", "bad,key"):
        response = await service.post("/other", key, json_body={"a": 1})
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert service.calls["/other"] == 3
    covered = [await service.post("/orders", "k", json_body={"a": 1}) for _ in range(2)]
    assert covered[1].headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


# -- replay (section 6) -----------------------------------------------------------------


async def test_replay_repeats_status_header_lines_and_body(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    first = await service.post("/orders", "replay-1", json_body={"sku": "abc"})
    second = await service.post("/orders", "replay-1", json_body={"sku": "abc"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert kept(second) == kept(first)
    assert second.headers.get_list("x-custom") == ["first", "second"]
    assert second.headers["location"] == "/orders/1"
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert service.calls["/orders"] == 1


async def test_replay_drops_cookie_and_date_and_recomputes_content_length(
    service: Service,
) -> None:
    first = await service.post("/orders", "replay-2", json_body={"sku": "abc"})
    second = await service.post("/orders", "replay-2", json_body={"sku": "abc"})
    assert "set-cookie" in first.headers
    assert "date" in first.headers
    assert "set-cookie" not in second.headers
    assert "date" not in second.headers
    assert second.headers.get_list("content-length") == [str(len(second.content))]


async def test_cookies_and_credentials_never_reach_the_store(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    auth = {"Authorization": "Bearer top-secret-token"}
    await service.post("/orders", "stored", json_body={"a": 1}, headers=auth)
    scope = "auth:" + hashlib.sha256(b"Bearer top-secret-token").hexdigest()
    record = await service.record("stored", scope)
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is not None
    names = [name for name, _ in record.response.headers]
    assert b"set-cookie" not in names
    assert b"date" not in names
    assert b"content-length" not in names
    assert b"location" in names
    assert "secret-session" not in repr(record)
    assert "top-secret-token" not in repr(record)


async def test_store_key_is_an_hmac_when_a_secret_is_set(make_service: MakeService) -> None:
    service = make_service(secret="s3cret")
    await service.post("/orders", "hm", json_body={"a": 1})
    assert await service.record("hm") is not None  # looked up with the HMAC
    plain = make_service(store=service.store)
    assert await plain.record("hm") is None  # not under the plain SHA-256


async def test_empty_204_replays(make_service: MakeService, make_store: StoreFactory) -> None:
    service = make_service(store=make_store())
    first = await service.post("/empty", "e")
    second = await service.post("/empty", "e")
    assert first.status_code == second.status_code == 204
    assert second.content == b""
    assert second.headers["idempotent-replayed"] == "true"
    assert service.calls["empty"] == 1


async def test_replayed_204_has_no_content_length(service: Service) -> None:
    first = await service.post("/empty", "e204")
    second = await service.post("/empty", "e204")
    assert "content-length" not in first.headers
    assert "content-length" not in second.headers


# -- what is stored (section 6) ---------------------------------------------------------


@pytest.mark.parametrize("code", [400, 404, 422])
async def test_client_errors_are_stored_and_replayed(
    make_service: MakeService, make_store: StoreFactory, code: int
) -> None:
    service = make_service(store=make_store())
    first = await service.post(f"/status/{code}", "c")
    second = await service.post(f"/status/{code}", "c")
    assert first.status_code == second.status_code == code
    assert second.text == first.text == f"status {code} run 1"
    assert second.headers["idempotent-replayed"] == "true"
    assert service.calls[f"status/{code}"] == 1


@pytest.mark.parametrize("code", [401, 403, 407, 408, 409, 425, 429, 500, 502, 503])
async def test_unstored_statuses_release_the_key(
    make_service: MakeService, make_store: StoreFactory, code: int
) -> None:
    service = make_service(store=make_store())
    first = await service.post(f"/status/{code}", "u")
    second = await service.post(f"/status/{code}", "u")
    assert [first.text, second.text] == [f"status {code} run 1", f"status {code} run 2"]
    assert "idempotent-replayed" not in second.headers
    assert service.calls[f"status/{code}"] == 2
    assert await service.record("u") is None


async def test_not_stored_option_changes_the_statuses(make_service: MakeService) -> None:
    service = make_service(not_stored=[404])
    await service.post("/status/404", "n")
    await service.post("/status/429", "n429")
    assert (await service.post("/status/404", "n")).text == "status 404 run 2"
    assert (await service.post("/status/429", "n429")).text == "status 429 run 1"


async def test_handler_exception_releases_the_key(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store(), raise_app_exceptions=False)
    first = await service.post("/raise", "boom")
    assert first.status_code == 500
    assert await service.record("boom") is None
    second = await service.post("/raise", "boom")
    assert second.status_code == 201
    assert second.json() == {"run": 2}
    assert "idempotent-replayed" not in second.headers
    third = await service.post("/raise", "boom")
    assert third.headers["idempotent-replayed"] == "true"
    assert service.calls["raise"] == 2


# -- retention (section 5) --------------------------------------------------------------


async def test_completed_record_expires_after_ttl(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    clock = ManualClock()
    service = make_service(store=make_store(clock), ttl=3600)
    await service.post("/orders", "ttl", json_body={})
    clock.advance(3599)
    assert (await service.post("/orders", "ttl", json_body={})).json()["run"] == 1
    clock.advance(1)
    fresh = await service.post("/orders", "ttl", json_body={})
    assert fresh.json()["run"] == 2
    assert "idempotent-replayed" not in fresh.headers
