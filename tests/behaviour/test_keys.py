"""The key: its header, its other sources, and what makes it invalid (SEMANTICS section 2)."""

from __future__ import annotations

import json

import pytest

from idempotency_middleware import Request, from_form, from_json
from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient


@pytest.mark.parametrize(("first", "second"), [('"abc"', "abc"), ("abc", '"abc"')])
def test_quoted_and_bare_spellings_are_one_key(client: Client, first: str, second: str) -> None:
    client.post("/echo", first)
    assert client.post("/echo", second).replayed
    assert client.runs["echo"] == 1
    assert client.record("abc") is not None


def test_a_quoted_key_may_hold_escapes_and_commas(client: Client) -> None:
    client.post("/echo", r'"a\"b,c"')
    assert client.post("/echo", r'"a\"b,c"').replayed
    assert client.record('a"b,c') is not None


def test_a_key_of_255_characters_is_valid(client: Client) -> None:
    assert client.post("/echo", "k" * 255).status == 201
    assert client.record("k" * 255) is not None


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([""], id="empty"),
        pytest.param(["k" * 256], id="256-chars"),
        pytest.param(["a\x01b"], id="control-char"),
        pytest.param(["a\tb"], id="tab"),
        pytest.param(["caf\xe9"], id="non-ascii"),
        pytest.param(["one", "two"], id="two-lines"),
        pytest.param(["one", "one"], id="two-equal-lines"),
        pytest.param(["a,b"], id="bare-comma"),
        pytest.param(['"abc'], id="unclosed-quote"),
        pytest.param(['"a\\b"'], id="bad-escape"),
    ],
)
def test_an_invalid_key_is_400_and_the_handler_does_not_run(
    client: Client, values: list[str]
) -> None:
    lines = [("Content-Type", "application/json")]
    lines += [("Idempotency-Key", value) for value in values]
    problem = assert_problem(client.send("POST", "/echo", lines, b"{}"), 400, "key-invalid")
    assert "key" in problem["detail"].lower()
    assert client.runs["echo"] == 0


def test_the_max_key_length_option(make_client: MakeClient) -> None:
    client = make_client(max_key_length=10)
    assert client.post("/echo", "k" * 10).status == 201
    assert_problem(client.post("/echo", "k" * 11), 400, "key-invalid")


def test_a_key_from_another_header(make_client: MakeClient) -> None:
    client = make_client(header="X-Delivery-Id")
    client.post("/echo", "ignored-1", headers=[("X-Delivery-Id", "d-1")])
    replay = client.post("/echo", "ignored-2", headers=[("X-Delivery-Id", "d-1")])
    assert replay.replayed
    assert client.runs["echo"] == 1
    assert client.record("d-1") is not None


def test_a_key_from_a_json_pointer(make_client: MakeClient) -> None:
    client = make_client(key=from_json("/id"))
    first = client.post("/echo", body=b'{"id": "evt-1", "amount": 5}')
    replay = client.post("/echo", body=b'{"id": "evt-1", "amount": 5}')
    other = client.post("/echo", body=b'{"id": "evt-2", "amount": 5}')
    assert replay.replayed
    assert replay.body == first.body
    assert other.json()["run"] == 2
    assert client.record("evt-1") is not None


def test_a_json_pointer_that_does_not_resolve_means_no_key(make_client: MakeClient) -> None:
    client = make_client(key=from_json("/id"))
    replies = [client.post("/echo", body=b'{"other": 1}') for _ in range(2)]
    assert [reply.json()["run"] for reply in replies] == [1, 2]


def test_a_body_that_is_not_json_is_400_when_the_key_is_in_it(make_client: MakeClient) -> None:
    client = make_client(key=from_json("/id"))
    problem = assert_problem(client.post("/echo", body=b"{not json"), 400, "key-invalid")
    assert "/id" in problem["detail"]
    assert client.runs["echo"] == 0


@pytest.mark.parametrize("value", [{"nested": 1}, ["a"], True, ""])
def test_a_json_key_of_the_wrong_kind_is_400(make_client: MakeClient, value: object) -> None:
    client = make_client(key=from_json("/id"))
    reply = client.post("/echo", body=json.dumps({"id": value}).encode())
    assert_problem(reply, 400, "key-invalid")
    assert client.runs["echo"] == 0


def test_a_key_from_an_urlencoded_form_field(make_client: MakeClient) -> None:
    client = make_client(key=from_form("token"))
    lines = [("Content-Type", "application/x-www-form-urlencoded")]
    first = client.send("POST", "/echo", lines, b"token=buy-123&item=book")
    replay = client.send("POST", "/echo", lines, b"token=buy-123&item=book")
    assert replay.replayed
    assert replay.body == first.body
    assert client.record("buy-123") is not None


def test_a_key_from_a_multipart_form_field(make_client: MakeClient) -> None:
    client = make_client(key=from_form("token"))
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="item"\r\n\r\nbook\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="token"\r\n\r\nmp-9\r\n'
        b"--XyZ--\r\n"
    )
    lines = [("Content-Type", "multipart/form-data; boundary=XyZ")]
    client.send("POST", "/echo", lines, body)
    assert client.send("POST", "/echo", lines, body).replayed
    assert client.runs["echo"] == 1
    assert client.record("mp-9") is not None


def _request_id(request: Request) -> str | None:
    return request.header("x-request-id")


def test_a_key_from_a_function_of_the_request(make_client: MakeClient) -> None:
    client = make_client(key=_request_id)
    client.post("/echo", headers=[("X-Request-Id", "fn-1")])
    assert client.post("/echo", headers=[("X-Request-Id", "fn-1")]).replayed
    assert client.runs["echo"] == 1


def test_a_body_too_deep_to_parse_is_400_when_the_key_is_in_it(make_client: MakeClient) -> None:
    client = make_client(key=from_json("/id"))
    deep = b"[" * 100_000 + b"]" * 100_000
    problem = assert_problem(client.post("/echo", body=deep), 400, "key-invalid")
    assert "/id" in problem["detail"]
    assert client.runs["echo"] == 0


def test_a_key_from_a_multipart_form_with_lf_line_endings(make_client: MakeClient) -> None:
    client = make_client(key=from_form("token"))
    body = b'--XyZ\nContent-Disposition: form-data; name="token"\n\nlf-9\n--XyZ--\n'
    lines = [("Content-Type", "multipart/form-data; boundary=XyZ")]
    client.send("POST", "/echo", lines, body)
    assert client.send("POST", "/echo", lines, body).replayed
    assert client.runs["echo"] == 1
    assert client.record("lf-9") is not None
