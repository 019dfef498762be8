"""What only the Flask extension shows: marks on blueprints, exceptions that propagate,
and ``after_request`` hooks. The rules every adapter shares are in tests/behaviour."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from flask import Blueprint, Flask, Response

from idempotency_middleware.flask import Idempotency
from idempotency_middleware.stores import MemoryStore
from tests.flask.conftest import Shop, assert_problem


def test_a_blueprint_that_requires_a_key_answers_400_without_one(shop: Shop) -> None:
    assert_problem(shop.post("/payments/"), 400, "key-missing")
    assert shop.calls["/payments/"] == 0


def test_an_exempt_blueprint_runs_every_time(shop: Shop) -> None:
    path = "/webhooks/github"
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
