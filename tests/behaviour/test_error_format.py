"""``error_format="stripe"``: every answer of the middleware in the shape of Stripe's API
errors, so Stripe-style SDKs raise their own idempotency errors (SEMANTICS section 7)."""

from __future__ import annotations

from typing import Any

from tests.behaviour.client import Reply
from tests.behaviour.conftest import MakeClient
from tests.behaviour.stores import BrokenStore
from tests.behaviour.test_lifecycle import in_progress


def assert_stripe_error(reply: Reply, status: int, type_: str, code: str) -> Any:
    """``reply`` is a Stripe-shaped error; its ``error`` member."""
    assert reply.status == status, reply.body
    assert reply.header("content-type") == ["application/json"]
    error = reply.json()["error"]
    assert (error["type"], error["code"]) == (type_, code)
    assert error["message"]
    assert "/problems/" in error["doc_url"]
    assert not reply.replayed
    return error


def test_every_key_problem_is_a_stripe_idempotency_error(make_client: MakeClient) -> None:
    client = make_client(error_format="stripe", max_request_bytes=100)
    client.post("/echo", "s-1")
    assert_stripe_error(client.post("/required"), 400, "idempotency_error", "key_missing")
    assert_stripe_error(client.post("/echo", ""), 400, "idempotency_error", "key_invalid")
    reused = client.post("/echo", "s-1", b"{}")
    assert_stripe_error(reused, 400, "idempotency_error", "key_reused")
    assert reused.header("stripe-should-retry") == ["false"]
    big = client.post("/echo", "s-2", b"x" * 101)
    assert_stripe_error(big, 413, "invalid_request_error", "request_too_large")
    assert client.runs["echo"] == 1


def test_a_duplicate_in_progress_is_a_retryable_stripe_409(make_client: MakeClient) -> None:
    client = make_client(error_format="stripe")
    with in_progress(client, "busy") as first:
        duplicate = client.post("/slow", "busy")
    error = assert_stripe_error(duplicate, 409, "idempotency_error", "idempotency_key_in_use")
    assert "running" in error["message"]
    assert duplicate.header("stripe-should-retry") == ["true"]
    assert int(duplicate.header("retry-after")[0]) >= 1
    assert first.result().status == 201


def test_an_unavailable_store_is_a_stripe_api_error(make_client: MakeClient) -> None:
    client = make_client(store=BrokenStore(), error_format="stripe")
    reply = client.post("/orders", "down-1")
    assert_stripe_error(reply, 503, "api_error", "store_unavailable")
    assert reply.header("stripe-should-retry") == ["true"]


def test_the_replay_of_a_stored_answer_is_untouched(make_client: MakeClient) -> None:
    client = make_client(error_format="stripe")
    first = client.post("/echo", "s-3")
    replay = client.post("/echo", "s-3")
    assert replay.replayed
    assert replay.body == first.body
