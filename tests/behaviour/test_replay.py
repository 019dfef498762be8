"""What is stored and replayed (SEMANTICS section 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from idempotency_middleware.records import RecordState
from tests.behaviour.capabilities import REPEATED_HEADER_LINES
from tests.behaviour.client import ORDER, Client, Reply, assert_problem
from tests.behaviour.conftest import MakeClient
from tests.support.databases import sql_store, sqlite_url

NOT_REPLAYED = {"content-length", "set-cookie", "date", "idempotent-replayed"}


def kept(reply: Reply) -> list[tuple[str, str]]:
    """The header lines a replay repeats, in order."""
    return [(name, value) for name, value in reply.headers if name not in NOT_REPLAYED]


def test_the_example_apps_order_is_placed_once(client: Client) -> None:
    first = client.post("/orders", "order-1")
    second = client.post("/orders", "order-1")
    assert first.status == second.status == 201
    assert second.body == first.body
    assert second.header("location") == first.header("location")
    assert second.replayed
    assert not first.replayed
    assert client.orders("order-1") == 1


def test_a_replay_repeats_status_header_lines_and_body(client: Client) -> None:
    first = client.post("/echo", "replay-1")
    second = client.post("/echo", "replay-1")
    assert first.status == second.status == 201
    assert second.body == first.body
    assert kept(second) == kept(first)
    assert second.header("location") == ["/things/1"]
    assert second.header("content-length") == [str(len(second.body))]
    assert second.replayed
    assert client.runs["echo"] == 1


@pytest.mark.expresses(REPEATED_HEADER_LINES)
def test_repeated_header_lines_stay_separate(client: Client) -> None:
    first = client.post("/echo", "lines-1")
    second = client.post("/echo", "lines-1")
    assert first.header("x-custom") == second.header("x-custom") == ["first", "second"]


def test_cookies_and_date_are_neither_replayed_nor_stored(client: Client) -> None:
    first = client.post("/echo", "cookie-1")
    second = client.post("/echo", "cookie-1")
    assert any("secret-1" in line for line in first.header("set-cookie"))
    assert first.header("date")
    assert not second.header("set-cookie")
    assert not second.header("date")
    record = client.record("cookie-1")
    assert record is not None
    assert record.response is not None
    names = {name.lower() for name, _ in record.response.headers}
    assert names.isdisjoint({b"set-cookie", b"date", b"content-length"})
    assert b"location" in names
    assert b"secret-1" not in repr(record).encode()


def test_an_empty_response_is_replayed(client: Client) -> None:
    first = client.post("/empty", "empty-1")
    second = client.post("/empty", "empty-1")
    assert first.status == second.status == 204
    assert second.body == b""
    assert second.replayed
    assert set(second.header("content-length")) <= {"0"}
    assert client.runs["empty"] == 1


@pytest.mark.parametrize("code", [200, 400, 404, 422])
def test_statuses_below_500_are_stored_and_replayed(client: Client, code: int) -> None:
    first = client.post(f"/status/{code}", "status-1")
    second = client.post(f"/status/{code}", "status-1")
    assert first.status == second.status == code
    assert second.body == first.body == b"run 1"
    assert second.replayed
    assert client.runs["status"] == 1


@pytest.mark.parametrize("code", [401, 403, 407, 408, 409, 425, 429, 500, 502, 503])
def test_other_statuses_release_the_key(client: Client, code: int) -> None:
    first = client.post(f"/status/{code}", "status-1")
    assert client.record("status-1") is None
    second = client.post(f"/status/{code}", "status-1")
    assert [first.body, second.body] == [b"run 1", b"run 2"]
    assert second.status == code
    assert not second.replayed
    assert client.runs["status"] == 2


def test_the_not_stored_option_chooses_the_statuses(make_client: MakeClient) -> None:
    client = make_client(not_stored=[404])
    for key, code in (("k404", 404), ("k429", 429)):
        client.post(f"/status/{code}", key)
    assert client.post("/status/404", "k404").body == b"run 3"
    assert client.post("/status/429", "k429").replayed


def test_a_handler_that_raised_runs_again(client: Client) -> None:
    first = client.post("/raise", "raise-1")
    assert first.status == 500
    assert client.record("raise-1") is None
    retry = client.post("/raise", "raise-1")
    assert retry.status == 201
    assert retry.body == b"run 2"
    assert not retry.replayed
    assert client.post("/raise", "raise-1").replayed
    assert client.runs["raise"] == 2


def test_a_small_stream_is_replayed_whole(client: Client) -> None:
    first = client.post("/stream?chunks=3&size=10", "stream-1")
    replay = client.post("/stream?chunks=3&size=10", "stream-1")
    assert first.body == replay.body == b"a" * 10 + b"b" * 10 + b"c" * 10
    assert replay.replayed
    assert client.runs["stream"] == 1


def test_a_response_over_the_capture_limit_reaches_its_caller_and_is_not_replayable(
    make_client: MakeClient,
) -> None:
    client = make_client(max_response_bytes=1000)
    first = client.post("/stream?chunks=30&size=100", "big-1")
    duplicate = client.post("/stream?chunks=30&size=100", "big-1")
    assert len(first.body) == 3000
    assert first.body.startswith(b"a" * 100 + b"b" * 100)
    assert_problem(duplicate, 409, "response-not-replayable")
    assert client.runs["stream"] == 1
    record = client.record("big-1")
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is None or not record.response.body


def test_a_body_sent_without_a_key_reaches_the_handler(client: Client) -> None:
    reply = client.post("/echo", body=ORDER)
    assert reply.json()["received"] == ORDER.decode()


def test_a_sql_store_replays_and_releases_alike(make_client: MakeClient, tmp_path: Path) -> None:
    with sql_store(sqlite_url(tmp_path)) as store:
        client = make_client(store=store)
        first = client.post("/echo", "sql-1")
        second = client.post("/echo", "sql-1")
        assert second.replayed
        assert second.body == first.body
        assert kept(second) == kept(first)
        for _ in range(2):
            client.post("/status/503", "sql-2")
    assert (client.runs["echo"], client.runs["status"]) == (1, 2)
