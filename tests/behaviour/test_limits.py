"""Request size limits (SEMANTICS section 6) and the store unavailable (section 7)."""

from __future__ import annotations

from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient
from tests.behaviour.stores import BrokenStore


def test_a_keyed_body_over_the_limit_is_413(make_client: MakeClient) -> None:
    client = make_client(max_request_bytes=100)
    reply = client.post("/echo", "big-1", b"x" * 101)
    assert_problem(reply, 413, "request-too-large")
    assert client.runs["echo"] == 0
    assert client.record("big-1") is None


def test_a_keyed_body_at_the_limit_reaches_the_handler(make_client: MakeClient) -> None:
    client = make_client(max_request_bytes=100)
    reply = client.post("/echo", "fits-1", b"x" * 100)
    assert reply.status == 201
    assert reply.json()["received"] == "x" * 100


def test_an_unkeyed_body_over_the_limit_runs_normally(make_client: MakeClient) -> None:
    client = make_client(max_request_bytes=100)
    reply = client.post("/echo", None, b"x" * 101)
    assert reply.status == 201
    assert reply.json()["received"] == "x" * 101


def test_an_unavailable_store_is_503_with_retry_after_and_runs_nothing(
    make_client: MakeClient,
) -> None:
    client = make_client(store=BrokenStore())
    reply = client.post("/orders", "down-1")
    assert_problem(reply, 503, "store-unavailable")
    assert int(reply.header("retry-after")[0]) >= 1
    assert client.orders("down-1") == 0


def test_fail_open_runs_the_handler_unprotected(make_client: MakeClient) -> None:
    client = make_client(store=BrokenStore(), on_store_error="fail_open")
    replies = [client.post("/orders", "open-1") for _ in range(2)]
    assert [reply.status for reply in replies] == [201, 201]
    assert client.orders("open-1") == 2


def test_every_problem_names_a_distinct_type(client: Client) -> None:
    client.post("/echo", "p-1")
    problems = [
        assert_problem(client.post("/required"), 400, "key-missing"),
        assert_problem(client.post("/echo", ""), 400, "key-invalid"),
        assert_problem(client.post("/echo", "p-1", b"{}"), 422, "key-reused"),
    ]
    assert len({problem["type"] for problem in problems}) == 3
