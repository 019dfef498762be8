"""``error_format``: every answer of the middleware in the shape of Stripe's API errors, so
Stripe-style SDKs raise their own idempotency errors, or in the shape an application's
callable renders, falling back to RFC 9457 when it fails (SEMANTICS section 7)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from idempotency_middleware import ErrorShape, Problem
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


def house_style(problem: Problem) -> tuple[int, dict[str, str], bytes]:
    """An application's own error shape, as a callable ``error_format``."""
    body = {"code": problem.type.slug, "message": problem.detail, "retry": problem.type.retryable}
    return (
        problem.type.status,
        {"content-type": "application/vnd.shop+json"},
        json.dumps(body).encode(),
    )


def assert_house_error(reply: Reply, status: int, code: str) -> None:
    assert reply.status == status, reply.body
    assert reply.header("content-type") == ["application/vnd.shop+json"]
    assert reply.header("content-length") == [str(len(reply.body))]
    assert reply.json()["code"] == code
    assert not reply.replayed


def test_a_callable_renders_every_answer_of_the_middleware(make_client: MakeClient) -> None:
    client = make_client(error_format=house_style, max_request_bytes=100)
    client.post("/echo", "h-1")
    assert_house_error(client.post("/required"), 400, "key-missing")
    assert_house_error(client.post("/echo", ""), 400, "key-invalid")
    assert_house_error(client.post("/echo", "h-1", b"{}"), 422, "key-reused")
    assert_house_error(client.post("/echo", "h-2", b"x" * 101), 413, "request-too-large")
    with in_progress(client, "h-busy") as first:
        duplicate = client.post("/slow", "h-busy")
    assert_house_error(duplicate, 409, "request-in-progress")
    assert int(duplicate.header("retry-after")[0]) >= 1
    assert first.result().status == 201
    assert client.runs["echo"] == 1


def test_a_callable_renders_an_unavailable_store(make_client: MakeClient) -> None:
    client = make_client(store=BrokenStore(), error_format=ErrorShape(house_style))
    reply = client.post("/orders", "h-down")
    assert_house_error(reply, 503, "store-unavailable")
    assert reply.header("retry-after")


def _raises(problem: Problem) -> Any:
    raise RuntimeError("the renderer broke")


@pytest.mark.parametrize(
    "render",
    [
        pytest.param(_raises, id="raises"),
        pytest.param(lambda problem: {"not": "a response"}, id="not-a-tuple"),
        pytest.param(lambda problem: (200, {}, b"ok"), id="not-an-error-status"),
        pytest.param(lambda problem: (400, {}, "text"), id="body-not-bytes"),
        pytest.param(lambda problem: (400, {"x": 1}, b""), id="header-not-str"),
    ],
)
def test_a_failing_callable_falls_back_to_the_problem(
    make_client: MakeClient, render: Any, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(error_format=render)
    with caplog.at_level(logging.ERROR, logger="idempotency_middleware"):
        reply = client.post("/required")
    assert reply.status == 400
    assert reply.header("content-type") == ["application/problem+json"]
    assert reply.json()["type"].endswith("/key-missing/")
    failures = [r for r in caplog.records if "error_format" in r.getMessage()]
    assert len(failures) == 1
