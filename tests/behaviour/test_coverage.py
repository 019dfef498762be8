"""Which requests are covered (SEMANTICS section 1)."""

from __future__ import annotations

import pytest

from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_post_and_patch_are_covered(client: Client, method: str) -> None:
    lines = [("Idempotency-Key", "covered-1")]
    first = client.send(method, "/echo", lines, b"{}")
    second = client.send(method, "/echo", lines, b"{}")
    assert first.status == 201
    assert second.body == first.body
    assert second.replayed
    assert client.runs["echo"] == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_pass_through_even_with_a_key(make_client: MakeClient, method: str) -> None:
    client = make_client(max_request_bytes=8)
    big = b"x" * 100  # over max_request_bytes: passed through, not answered 413
    replies = [client.send(method, "/echo", [("Idempotency-Key", "same")], big) for _ in range(2)]
    assert [reply.json()["run"] for reply in replies] == [1, 2]
    assert not any(reply.replayed for reply in replies)
    assert replies[0].json()["received"] == big.decode()
    assert client.record("same") is None


def test_the_methods_option_chooses_the_covered_methods(make_client: MakeClient) -> None:
    client = make_client(methods=["PUT"])
    lines = [("Idempotency-Key", "m")]
    puts = [client.send("PUT", "/echo", lines, b"{}") for _ in range(2)]
    posts = [client.send("POST", "/other", lines, b"{}") for _ in range(2)]
    assert puts[1].replayed
    assert [reply.json()["run"] for reply in posts] == [1, 2]
    assert (client.runs["echo"], client.runs["other"]) == (1, 2)


def test_a_request_without_a_key_runs_every_time(client: Client) -> None:
    replies = [client.post("/echo") for _ in range(2)]
    assert [reply.status for reply in replies] == [201, 201]
    assert [reply.json()["run"] for reply in replies] == [1, 2]
    assert not any(reply.replayed for reply in replies)
    assert replies[1].header("set-cookie")


def test_a_route_that_requires_a_key_answers_400_key_missing_without_one(
    client: Client,
) -> None:
    problem = assert_problem(client.post("/required"), 400, "key-missing")
    assert "Idempotency-Key" in problem["detail"]
    assert client.runs["required"] == 0
    client.post("/required", "required-1")
    assert client.post("/required", "required-1").replayed
    assert client.runs["required"] == 1
    # Other routes stay optional.
    assert client.post("/echo").status == 201


def test_a_route_that_is_not_covered_ignores_its_key(client: Client) -> None:
    for key in ("exempt-1", "exempt-1", ""):  # even an invalid key is ignored
        reply = client.post("/exempt", key)
        assert reply.status == 201
        assert not reply.replayed
    assert client.runs["exempt"] == 3
    assert client.record("exempt-1") is None


def test_a_key_on_a_route_outside_include_is_ignored(make_client: MakeClient) -> None:
    client = make_client(include=["/echo"])
    for key in ("k", "k", "bad,key"):
        reply = client.post("/other", key)
        assert reply.status == 201
        assert not reply.replayed
    assert client.runs["other"] == 3
    client.post("/echo", "k")
    assert client.post("/echo", "k").replayed
    assert client.runs["echo"] == 1
