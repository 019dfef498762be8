"""What a client of a Flask app behind the extension observes (SEMANTICS sections 1 to 7)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flask import Blueprint, Flask, Response

from idempotency_middleware.flask import Idempotency
from idempotency_middleware.keys import from_json
from idempotency_middleware.records import RecordState
from idempotency_middleware.stores import MemoryStore
from tests.flask.conftest import BrokenStore, MakeShop, Shop, assert_problem


def test_a_repeat_gets_the_original_response_without_running(shop: Shop) -> None:
    first = shop.post("/orders", "k1")
    second = shop.post("/orders", "k1")

    assert shop.calls["/orders"] == 1
    assert first.status_code == second.status_code == 201
    assert second.data == first.data
    assert second.get_json() == {"run": 1, "received": '{"item": "book"}'}
    assert second.headers.getlist("X-Custom") == ["first", "second"]
    assert second.headers["Location"] == "/orders/1"
    assert second.headers["Content-Type"] == "application/json"
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Set-Cookie" not in second.headers
    assert "Idempotent-Replayed" not in first.headers
    assert first.headers["Set-Cookie"].startswith("session-id=secret-1")


def test_patch_is_covered_and_put_is_not(shop: Shop) -> None:
    shop.client.patch("/orders", headers={"Idempotency-Key": "k1"})
    shop.client.patch("/orders", headers={"Idempotency-Key": "k1"})
    shop.client.put("/orders", headers={"Idempotency-Key": "k2"})
    shop.client.put("/orders", headers={"Idempotency-Key": "k2"})
    assert shop.calls["/orders"] == 3
    assert shop.record("k2") is None


def test_another_body_with_the_same_key_is_422(shop: Shop) -> None:
    shop.post("/orders", "k1")
    reused = shop.post("/orders", "k1", data=b'{"item": "lamp"}')
    assert_problem(reused, 422, "key-reused")
    assert shop.calls["/orders"] == 1


def test_two_key_header_lines_are_400(shop: Shop) -> None:
    # The WSGI environ holds the two lines joined by a comma, which no bare key holds.
    response = shop.client.post(
        "/orders", headers=[("Idempotency-Key", "first"), ("Idempotency-Key", "second")]
    )
    assert_problem(response, 400, "key-invalid")
    assert shop.calls["/orders"] == 0


def test_a_body_over_the_limit_is_413(make_shop: MakeShop) -> None:
    shop = make_shop(IDEMPOTENCY_MAX_REQUEST_BYTES=10)
    response = shop.post("/orders", "k1", data=b"x" * 11)
    assert_problem(response, 413, "request-too-large")
    assert shop.calls["/orders"] == 0


def test_a_view_that_requires_a_key_answers_400_without_one(shop: Shop) -> None:
    assert_problem(shop.post("/must"), 400, "key-missing")
    assert shop.calls["/must"] == 0
    shop.post("/must", "k1")
    shop.post("/must", "k1")
    assert shop.calls["/must"] == 1


def test_a_blueprint_that_requires_a_key_answers_400_without_one(shop: Shop) -> None:
    assert_problem(shop.post("/payments/"), 400, "key-missing")
    assert shop.calls["/payments/"] == 0


def test_without_a_key_a_view_runs_every_time(shop: Shop) -> None:
    shop.post("/orders")
    shop.post("/orders")
    assert shop.calls["/orders"] == 2


@pytest.mark.parametrize("path", ["/free", "/webhooks/github"])
def test_exempt_views_and_blueprints_run_every_time(shop: Shop, path: str) -> None:
    first = shop.post(path, "k1")
    second = shop.post(path, "k1")
    assert shop.calls[path] == 2
    assert "Idempotent-Replayed" not in second.headers
    assert first.get_json()["run"] == 1
    assert shop.record("k1") is None


def test_an_exception_releases_the_key(shop: Shop) -> None:
    with pytest.raises(RuntimeError):
        shop.post("/raise", "k1")
    assert shop.record("k1") is None
    retry = shop.post("/raise", "k1")
    assert retry.status_code == 201
    assert retry.data == b"run 2"


def test_an_unhandled_exception_answered_500_releases_the_key(make_shop: MakeShop) -> None:
    shop = make_shop(PROPAGATE_EXCEPTIONS=False)
    assert shop.post("/raise", "k1").status_code == 500
    retry = shop.post("/raise", "k1")
    assert retry.data == b"run 2"
    assert shop.calls["raise"] == 2


@pytest.mark.parametrize(("code", "stored"), [(400, True), (429, False), (502, False)])
def test_statuses_that_are_stored_and_those_that_release(
    shop: Shop, code: int, stored: bool
) -> None:
    shop.post(f"/status/{code}", "k1")
    again = shop.post(f"/status/{code}", "k1")
    assert again.status_code == code
    assert again.data == (b"run 1" if stored else b"run 2")
    assert shop.calls[f"status/{code}"] == (1 if stored else 2)


def test_a_stream_over_the_capture_limit_reaches_the_first_caller_and_is_not_replayed(
    make_shop: MakeShop,
) -> None:
    shop = make_shop(IDEMPOTENCY_MAX_RESPONSE_BYTES=1000)
    first = shop.post("/stream?chunks=30&size=100", "k1")
    # The test client streams: the body is produced as it is read.
    assert len(first.data) == 3000
    duplicate = shop.post("/stream?chunks=30&size=100", "k1")
    assert first.status_code == 200
    assert first.data.startswith(b"a" * 100 + b"b" * 100)
    assert_problem(duplicate, 409, "response-not-replayable")
    assert shop.calls["stream"] == 1
    record = shop.record("k1")
    assert record is not None
    assert record.state is RecordState.COMPLETED


def test_a_small_stream_is_replayed(shop: Shop) -> None:
    first = shop.post("/stream?chunks=3&size=10", "k1").data
    replay = shop.post("/stream?chunks=3&size=10", "k1")
    assert replay.data == first == b"a" * 10 + b"b" * 10 + b"c" * 10
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert shop.calls["stream"] == 1


def test_a_replay_bypasses_after_request_hooks(shop: Shop) -> None:
    hooks: list[str] = []

    @shop.app.after_request
    def stamp(response: Response) -> Response:
        hooks.append(response.status)
        response.headers["X-Stamped"] = "yes"
        return response

    first = shop.post("/orders", "k1")
    replay = shop.post("/orders", "k1")
    assert hooks == ["201 CREATED"]
    # The stamp was part of the original response, so it is replayed; the hook did not run.
    assert first.headers["X-Stamped"] == replay.headers["X-Stamped"] == "yes"


def test_the_app_wide_key_source_reads_the_json_body(make_shop: MakeShop) -> None:
    shop = make_shop(IDEMPOTENCY_KEY=from_json("/id"))
    shop.post("/orders", data=b'{"id": "order-1"}')
    replay = shop.post("/orders", data=b'{"id": "order-1"}')
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert shop.calls["/orders"] == 1
    assert shop.record("order-1") is not None


def test_a_store_failure_is_503_and_runs_nothing(make_shop: MakeShop) -> None:
    shop = make_shop(IDEMPOTENCY_STORE=BrokenStore())
    response = shop.post("/orders", "k1")
    assert_problem(response, 503, "store-unavailable")
    assert response.headers["Retry-After"] == "1"
    assert shop.calls["/orders"] == 0


def test_marks_reach_nested_blueprints_and_a_views_mark_wins(tmp_path: Path) -> None:
    calls: Counter[str] = Counter()
    ext = Idempotency()
    parent = Blueprint("parent", __name__, url_prefix="/parent")
    child = Blueprint("child", __name__, url_prefix="/child")

    @child.post("/open")
    def open_view() -> tuple[str, int]:
        calls["open"] += 1
        return "open", 201

    @child.post("/strict")
    @ext.required
    def strict_view() -> tuple[str, int]:
        calls["strict"] += 1
        return "strict", 201

    ext.exempt(child)
    parent.register_blueprint(child)
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["IDEMPOTENCY_STORE"] = MemoryStore()
    app.register_blueprint(parent)
    ext.init_app(app)
    client = app.test_client()

    for _ in range(2):
        client.post("/parent/child/open", headers={"Idempotency-Key": "k1"})
    assert calls["open"] == 2
    assert_problem(client.post("/parent/child/strict"), 400, "key-missing")
    assert calls["strict"] == 0
