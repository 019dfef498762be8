"""A Flask app behind the extension, driven through Flask's test client.

Its views count their runs, so every test can tell an execution from a replay.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from flask import Blueprint, Flask, Response, request, stream_with_context
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, login_user

from idempotency_middleware.flask import Idempotency
from idempotency_middleware.records import Record
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import MemoryStore, Store
from tests.support.problems import assert_problem as assert_problem

__all__ = ["MakeShop", "Shop", "assert_problem", "build_app"]


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def build_app(calls: Counter[str], instance_path: Path, **config: Any) -> tuple[Flask, Idempotency]:
    """The test app: ``/orders`` (201 with repeated headers and a cookie), ``/raise``,
    ``/stream``, an exempt and a requiring blueprint, and Flask-Login behind
    ``/login/<id>``."""
    app = Flask(__name__, instance_path=str(instance_path))
    app.config.update(TESTING=True, SECRET_KEY="test secret", **config)
    ext = Idempotency()

    def order(**path_args: str) -> Response:
        calls[request.path] += 1
        run = calls[request.path]
        body = {"run": run, "received": request.get_data(as_text=True)}
        response = Response(json.dumps(body), status=201, mimetype="application/json")
        response.headers["Location"] = f"/orders/{run}"
        response.headers.add("X-Custom", "first")
        response.headers.add("X-Custom", "second")
        response.set_cookie("session-id", f"secret-{run}")
        return response

    app.add_url_rule("/orders", "order", order, methods=["POST", "PATCH", "PUT"])

    @app.post("/raise")
    def raise_first() -> Response:
        calls["raise"] += 1
        if calls["raise"] == 1:
            raise RuntimeError("handler failed")
        return Response(f"run {calls['raise']}", status=201)

    @app.post("/stream")
    def stream() -> Response:
        calls["stream"] += 1
        chunks, size = int(request.args["chunks"]), int(request.args["size"])

        def produce() -> Iterator[bytes]:
            for index in range(chunks):
                yield bytes([ord("a") + index % 26]) * size

        return Response(stream_with_context(produce()), mimetype="text/plain")

    webhooks = Blueprint("webhooks", __name__, url_prefix="/webhooks")
    webhooks.add_url_rule("/<name>", "receive", order, methods=["POST"])
    payments = Blueprint("payments", __name__, url_prefix="/payments")
    payments.add_url_rule("/", "pay", order, methods=["POST"])
    ext.exempt(webhooks)
    ext.required(payments)
    app.register_blueprint(webhooks)
    app.register_blueprint(payments)

    login_manager = LoginManager(app)
    login_manager.user_loader(User)

    @app.get("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(User(user_id))
        return "logged in"

    ext.init_app(app)
    return app, ext


@dataclass
class Shop:
    """The test app, its client, store and run counts."""

    app: Flask
    ext: Idempotency
    client: FlaskClient
    store: Store
    calls: Counter[str]

    def record(self, key: str, scope: str = ANONYMOUS_SCOPE) -> Record | None:
        return self.store.get(lookup_key(scope, key, None))

    def post(self, path: str, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        kwargs.setdefault("data", b'{"item": "book"}')
        kwargs.setdefault("content_type", "application/json")
        return self.client.post(path, headers=headers, **kwargs)


class MakeShop(Protocol):
    def __call__(self, **config: Any) -> Shop: ...


@pytest.fixture
def make_shop(tmp_path: Path) -> MakeShop:
    """Build the test app with ``IDEMPOTENCY_*`` ``config`` and a fresh MemoryStore."""

    def make(**config: Any) -> Shop:
        calls: Counter[str] = Counter()
        config.setdefault("IDEMPOTENCY_STORE", MemoryStore())
        app, ext = build_app(calls, tmp_path / "instance", **config)
        return Shop(app, ext, app.test_client(), ext.get_store(app), calls)

    return make


@pytest.fixture
def shop(make_shop: MakeShop) -> Shop:
    return make_shop()
