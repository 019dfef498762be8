"""The key, its scope and the request fingerprint through the ASGI middleware
(SEMANTICS sections 2, 3 and 4)."""

from __future__ import annotations

import pytest
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from idempotency_middleware import Request, from_form, from_json
from tests.asgi.conftest import MakeService, Service, StoreFactory, assert_problem

# -- header keys ------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [('"abc"', "abc"), ("abc", '"abc"')])
async def test_quoted_and_bare_spellings_are_one_key(
    service: Service, first: str, second: str
) -> None:
    await service.post("/orders", first, json_body={})
    replay = await service.post("/orders", second, json_body={})
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


async def test_quoted_key_may_hold_escapes_and_commas(service: Service) -> None:
    await service.post("/orders", r'"a\"b,c"', json_body={})
    assert service.calls["/orders"] == 1
    assert await service.record('a"b,c') is not None


async def test_key_of_255_characters_is_valid(service: Service) -> None:
    response = await service.post("/orders", "k" * 255, json_body={})
    assert response.status_code == 201
    assert await service.record("k" * 255) is not None


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([b""], id="empty"),
        pytest.param([b"k" * 256], id="256-chars"),
        pytest.param([b"a\x01b"], id="control-char"),
        pytest.param([b"a\tb"], id="tab"),
        pytest.param([b"caf\xe9"], id="non-ascii"),
        pytest.param([b"one", b"two"], id="two-lines"),
        pytest.param([b"one", b"one"], id="two-equal-lines"),
        pytest.param([b"a,b"], id="bare-comma"),
        pytest.param([b'"abc'], id="unclosed-quote"),
        pytest.param([b'"a\\b"'], id="bad-escape"),
    ],
)
async def test_invalid_key_is_400_and_the_handler_does_not_run(
    service: Service, lines: list[bytes]
) -> None:
    headers = [(b"Idempotency-Key", line) for line in lines]
    response = await service.client.post("/orders", json={}, headers=headers)
    problem = assert_problem(response, 400, "key-invalid")
    assert "key" in problem["detail"].lower()
    assert service.calls["/orders"] == 0


async def test_max_key_length_option(make_service: MakeService) -> None:
    service = make_service(max_key_length=10)
    assert (await service.post("/orders", "k" * 10, json_body={})).status_code == 201
    assert_problem(await service.post("/orders", "k" * 11, json_body={}), 400, "key-invalid")


async def test_key_from_another_header(make_service: MakeService) -> None:
    service = make_service(header="X-GitHub-Delivery")
    headers = {"X-GitHub-Delivery": "d-1", "Idempotency-Key": "ignored-1"}
    await service.client.post("/webhooks/github", json={}, headers=headers)
    headers["Idempotency-Key"] = "ignored-2"
    replay = await service.client.post("/webhooks/github", json={}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["/webhooks/github"] == 1


# -- body keys ------------------------------------------------------------------------


async def test_key_from_json_pointer(make_service: MakeService) -> None:
    service = make_service(key=from_json("/id"))
    first = await service.post("/orders", json_body={"id": "evt-1", "amount": 5})
    replay = await service.post("/orders", json_body={"id": "evt-1", "amount": 5})
    other = await service.post("/orders", json_body={"id": "evt-2", "amount": 5})
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert other.json()["run"] == 2
    numeric = [await service.post("/orders", json_body={"id": 7}) for _ in range(2)]
    assert numeric[1].headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 3


async def test_unresolved_json_pointer_means_no_key(make_service: MakeService) -> None:
    service = make_service(key=from_json("/id"))
    responses = [await service.post("/orders", json_body={"other": 1}) for _ in range(2)]
    assert [r.json()["run"] for r in responses] == [1, 2]
    empty = await service.client.post("/orders")
    assert empty.status_code == 201


async def test_body_that_is_not_json_is_400_key_invalid(make_service: MakeService) -> None:
    service = make_service(key=from_json("/id"))
    response = await service.client.post(
        "/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "key-invalid")
    assert "JSON" in problem["detail"]
    assert "/id" in problem["detail"]
    assert service.calls["/orders"] == 0


@pytest.mark.parametrize("value", [{"nested": 1}, ["a"], True, ""])
async def test_json_key_field_of_wrong_kind_is_400(
    make_service: MakeService, value: object
) -> None:
    service = make_service(key=from_json("/id"))
    response = await service.post("/orders", json_body={"id": value})
    assert_problem(response, 400, "key-invalid")
    assert service.calls["/orders"] == 0


async def test_key_from_urlencoded_form_field(make_service: MakeService) -> None:
    service = make_service(key=from_form("token"))
    form = {"token": "buy-123", "item": "book"}
    first = await service.client.post("/orders", data=form)
    replay = await service.client.post("/orders", data=form)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    assert service.calls["/orders"] == 1
    assert await service.record("buy-123") is not None


async def test_key_from_multipart_form_field(make_service: MakeService) -> None:
    service = make_service(key=from_form("token"))
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="item"\r\n\r\nbook\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="token"\r\n\r\nmp-9\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    await service.client.post("/orders", content=body, headers=headers)
    replay = await service.client.post("/orders", content=body, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1
    assert await service.record("mp-9") is not None


async def test_key_from_a_user_function(make_service: MakeService) -> None:
    def key(request: Request) -> str | None:
        return request.header("x-request-id")

    service = make_service(key=key)
    headers = {"X-Request-Id": "fn-1"}
    await service.client.post("/orders", json={}, headers=headers)
    replay = await service.client.post("/orders", json={}, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 1


# -- scope (section 3) ------------------------------------------------------------------


async def test_callers_with_different_authorization_do_not_share_keys(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    alice = {"Authorization": "Bearer alice"}
    bob = {"Authorization": "Bearer bob"}
    a1 = await service.post("/orders", "shared", json_body={}, headers=alice)
    b1 = await service.post("/orders", "shared", json_body={}, headers=bob)
    a2 = await service.post("/orders", "shared", json_body={}, headers=alice)
    b2 = await service.post("/orders", "shared", json_body={}, headers=bob)
    assert [a1.json()["run"], b1.json()["run"]] == [1, 2]
    assert a2.json() == a1.json()
    assert b2.json() == b1.json()
    assert a2.headers["idempotent-replayed"] == b2.headers["idempotent-replayed"] == "true"
    assert service.calls["/orders"] == 2
    anonymous = await service.post("/orders", "shared", json_body={})
    assert anonymous.json()["run"] == 3


async def test_scope_function_option(make_service: MakeService) -> None:
    def tenant(request: Request) -> str:
        return request.header("x-tenant") or "none"

    service = make_service(scope=tenant)
    t1 = await service.post("/orders", "k", json_body={}, headers={"X-Tenant": "t1"})
    t2 = await service.post("/orders", "k", json_body={}, headers={"X-Tenant": "t2"})
    rotated = await service.post(
        "/orders", "k", json_body={}, headers={"X-Tenant": "t1", "Authorization": "Bearer new"}
    )
    assert [t1.json()["run"], t2.json()["run"]] == [1, 2]
    assert rotated.headers["idempotent-replayed"] == "true"
    assert rotated.json() == t1.json()
    assert await service.record("k", "t1") is not None


class HeaderUserBackend(AuthenticationBackend):
    """Authenticates the user named by ``X-User``."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        name = conn.headers.get("x-user")
        return None if name is None else (AuthCredentials(["authenticated"]), SimpleUser(name))


async def test_starlette_user_scopes_keys(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    auth = Middleware(AuthenticationMiddleware, backend=HeaderUserBackend())
    service = make_service(store=make_store(), outer=[auth])
    alice = await service.post(
        "/orders", "k", json_body={}, headers={"X-User": "alice", "Authorization": "Bearer 1"}
    )
    bob = await service.post(
        "/orders", "k", json_body={}, headers={"X-User": "bob", "Authorization": "Bearer 1"}
    )
    # A refreshed token is a new Authorization value, but the same user.
    again = await service.post(
        "/orders", "k", json_body={}, headers={"X-User": "alice", "Authorization": "Bearer 2"}
    )
    assert [alice.json()["run"], bob.json()["run"]] == [1, 2]
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == alice.json()
    assert service.calls["/orders"] == 2
    assert await service.record("k", "user:alice") is not None
    assert await service.record("k", "user:bob") is not None


# -- fingerprint (section 4) ------------------------------------------------------------


async def test_same_key_with_another_body_is_422_key_reused(
    make_service: MakeService, make_store: StoreFactory
) -> None:
    service = make_service(store=make_store())
    await service.post("/orders", "fp", json_body={"amount": 1})
    response = await service.post("/orders", "fp", json_body={"amount": 2})
    assert_problem(response, 422, "key-reused")
    assert service.calls["/orders"] == 1


async def test_same_key_on_another_endpoint_is_422_key_reused(service: Service) -> None:
    await service.post("/orders", "fp", json_body={"amount": 1})
    response = await service.post("/other", "fp", json_body={"amount": 1})
    assert_problem(response, 422, "key-reused")
    assert service.calls["/other"] == 0


async def test_query_parameter_order_does_not_change_the_fingerprint(service: Service) -> None:
    await service.post("/orders?a=1&b=2", "q", json_body={})
    second = await service.post("/orders?b=2&a=1", "q", json_body={})
    assert second.headers["idempotent-replayed"] == "true"
    changed = await service.post("/orders?a=1&b=3", "q", json_body={})
    assert_problem(changed, 422, "key-reused")


@pytest.mark.parametrize(("fingerprint", "replayed"), [(None, False), ("json", True)])
async def test_canonical_json_fingerprint_option(
    make_service: MakeService, fingerprint: str | None, replayed: bool
) -> None:
    service = make_service(fingerprint=fingerprint)
    headers = {"Idempotency-Key": "cj", "Content-Type": "application/json"}
    await service.client.post("/orders", content=b'{"a": 1, "b": 2}', headers=headers)
    second = await service.client.post("/orders", content=b'{"b":2,"a":1}', headers=headers)
    if replayed:
        assert second.headers["idempotent-replayed"] == "true"
    else:
        assert_problem(second, 422, "key-reused")
    assert service.calls["/orders"] == 1
