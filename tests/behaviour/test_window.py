"""Keyless de-duplication under ``auto_window``, on every adapter: identical keyless
writes of one caller within the window run once (semantics: "Keyless de-duplication")."""

from __future__ import annotations

from pathlib import Path

from idempotency_middleware import ManualClock
from idempotency_middleware.stores import MemoryStore
from idempotency_middleware.stores.base import RecordCounts
from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient
from tests.stores.faces import fresh_store

ALICE = [("Authorization", "Bearer alice")]
BOB = [("Authorization", "Bearer bob")]


def test_an_identical_keyless_write_is_replayed(make_client: MakeClient) -> None:
    client = make_client(auto_window=60)
    first = client.post("/echo", headers=ALICE)
    again = client.post("/echo", headers=ALICE)
    assert (first.status, first.replayed) == (201, False)
    assert (again.status, again.replayed) == (201, True)
    assert again.body == first.body
    assert client.runs["echo"] == 1


def test_every_store_keeps_the_window_per_caller(
    store_kind: str, tmp_path: Path, make_client: MakeClient
) -> None:
    with fresh_store(store_kind, tmp_path) as store:
        client = make_client(store=store, auto_window=60)
        alice = [client.post("/echo", headers=ALICE) for _ in range(3)]
        bob = client.post("/echo", headers=BOB)
        assert [answer.replayed for answer in alice] == [False, True, True]
        assert {answer.body for answer in alice} == {alice[0].body}
        assert not bob.replayed
        assert client.runs["echo"] == 2


def test_other_writes_and_callers_run(make_client: MakeClient) -> None:
    client = make_client(auto_window=60)
    client.post("/echo", headers=ALICE)
    other_body = client.post("/echo", body=b'{"item": "pen"}', headers=ALICE)
    other_caller = client.post("/echo", headers=BOB)
    assert not other_body.replayed
    assert not other_caller.replayed
    assert client.runs["echo"] == 3


def test_a_client_key_wins_over_the_window(make_client: MakeClient) -> None:
    client = make_client(auto_window=60)
    client.post("/echo", headers=ALICE)
    keyed = client.post("/echo", "k-1", headers=ALICE)
    assert not keyed.replayed
    assert client.post("/echo", "k-1", headers=ALICE).replayed
    assert client.runs["echo"] == 2


def test_after_the_window_the_write_runs_again(make_client: MakeClient) -> None:
    clock = ManualClock()
    client = make_client(store=MemoryStore(clock=clock), auto_window=10, ttl=3600)
    client.post("/echo", headers=ALICE)
    clock.advance(9)
    assert client.post("/echo", headers=ALICE).replayed
    clock.advance(1)
    assert not client.post("/echo", headers=ALICE).replayed
    assert client.runs["echo"] == 2


def test_off_by_default(client: Client) -> None:
    assert not client.post("/echo", headers=ALICE).replayed
    assert not client.post("/echo", headers=ALICE).replayed
    assert client.runs["echo"] == 2
    assert client.store.stats() == RecordCounts(in_progress=0, completed=0, expired=0)


def test_a_required_key_is_still_required_and_uncovered_routes_run(
    make_client: MakeClient,
) -> None:
    client = make_client(auto_window=60)
    assert_problem(client.post("/required"), 400, "key-missing")
    client.post("/exempt")
    assert not client.post("/exempt").replayed
    assert client.runs["required"] == 0
    assert client.runs["exempt"] == 2
