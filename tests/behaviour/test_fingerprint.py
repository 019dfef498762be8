"""Is it the same request (SEMANTICS section 4)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from idempotency_middleware import Request
from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient
from tests.stores.faces import fresh_store


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


def _long_fingerprint(request: Request) -> str:
    # 200 characters, told apart only after the 100th: past any column of 64.
    return "f" * 100 + hashlib.sha256(request.body).hexdigest() + "f" * 36


def test_a_fingerprint_function_may_return_any_length(
    store_kind: str, tmp_path: Path, make_client: MakeClient
) -> None:
    with fresh_store(store_kind, tmp_path) as store:
        client = make_client(store=store, fingerprint=_long_fingerprint)
        first = client.post("/echo", "long-1")
        assert first.status == 201
        assert client.post("/echo", "long-1").replayed
        reused = client.post("/echo", "long-1", b'{"item": "lamp"}')
        assert_problem(reused, 422, "key-reused")
        assert client.runs["echo"] == 1


def _multipart(fields: dict[str, str], boundary: str) -> bytes:
    lines = []
    for name, value in fields.items():
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{name}"', "", value]
    return "\n".join([*lines, f"--{boundary}--", ""]).encode()


def test_multipart_forms_with_lf_line_endings_are_told_apart(client: Client) -> None:
    lines = [("Content-Type", "multipart/form-data; boundary=b0"), ("Idempotency-Key", "lf-1")]
    first = client.send("POST", "/echo", lines, _multipart({"item": "book"}, "b0"))
    assert first.status == 201
    assert client.send("POST", "/echo", lines, _multipart({"item": "book"}, "b0")).replayed
    other = client.send("POST", "/echo", lines, _multipart({"item": "lamp"}, "b0"))
    assert_problem(other, 422, "key-reused")
    assert client.runs["echo"] == 1


_DEEP = b"[" * 100_000 + b"]" * 100_000
"""JSON nested deeper than any recursive parser goes."""


def test_the_json_fingerprint_of_a_too_deep_body_is_its_bytes(make_client: MakeClient) -> None:
    client = make_client(fingerprint="json")
    assert client.post("/echo", "deep-1", _DEEP).status == 201
    assert client.post("/echo", "deep-1", _DEEP).replayed
    assert_problem(client.post("/echo", "deep-1", _DEEP + b" "), 422, "key-reused")
    assert client.runs["echo"] == 1
