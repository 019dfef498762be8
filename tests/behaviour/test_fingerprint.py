"""Is it the same request (SEMANTICS section 4)."""

from __future__ import annotations

from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient


def test_the_same_key_with_another_body_is_422_key_reused(client: Client) -> None:
    client.post("/orders", "order-1")
    reused = client.post("/orders", "order-1", b'{"item": "lamp", "amount": 5}')
    problem = assert_problem(reused, 422, "key-reused")
    assert "key" in problem["detail"].lower()
    assert client.orders("order-1") == 1


def test_the_same_key_on_another_endpoint_is_422_key_reused(client: Client) -> None:
    client.post("/echo", "endpoint-1")
    assert_problem(client.post("/other", "endpoint-1"), 422, "key-reused")
    assert_problem(client.post("/status/201", "endpoint-1"), 422, "key-reused")
    assert client.runs["other"] == client.runs["status"] == 0


def test_the_same_key_with_another_content_type_is_422(client: Client) -> None:
    client.post("/echo", "type-1")
    lines = [("Content-Type", "text/plain"), ("Idempotency-Key", "type-1")]
    assert_problem(client.send("POST", "/echo", lines, b"{}"), 422, "key-reused")


def test_the_order_of_query_parameters_does_not_matter(client: Client) -> None:
    client.post("/echo?a=1&b=2", "query-1")
    assert client.post("/echo?b=2&a=1", "query-1").replayed
    assert_problem(client.post("/echo?a=1&b=3", "query-1"), 422, "key-reused")


def test_the_json_fingerprint_ignores_key_order_and_whitespace(make_client: MakeClient) -> None:
    client = make_client(fingerprint="json")
    client.post("/echo", "json-1", b'{"a": 1, "b": [1, 2]}')
    assert client.post("/echo", "json-1", b'{ "b":[1,2],"a":1 }').replayed
    assert_problem(client.post("/echo", "json-1", b'{"a": 2, "b": [1, 2]}'), 422, "key-reused")


def test_the_default_fingerprint_tells_json_spellings_apart(client: Client) -> None:
    client.post("/echo", "json-2", b'{"a": 1, "b": 2}')
    assert_problem(client.post("/echo", "json-2", b'{"b": 2, "a": 1}'), 422, "key-reused")


def test_the_key_only_fingerprint_ignores_the_request(make_client: MakeClient) -> None:
    client = make_client(fingerprint="key-only")
    first = client.post("/echo", "only-1", b'{"sent": 1}')
    replay = client.post("/echo", "only-1", b'{"sent": "again, re-rendered"}')
    assert replay.replayed
    assert replay.body == first.body
