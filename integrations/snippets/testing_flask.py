"""A Flask app's tests with the plugin's fixtures; ``tests/testing/test_documented_suites.py``
runs them as they are."""

from __future__ import annotations

# [start:flask]
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from flask.testing import FlaskClient

from idempotency_middleware.flask import Idempotency
from idempotency_middleware.stores import MemoryStore, Store
from idempotency_middleware.testing import IdempotentClient, assert_runs_once

ORDER = {"item": "annual plan", "amount": 19_900}


def create_app(store: Store) -> Flask:
    """Your app factory, given the store."""
    app = Flask(__name__)
    app.config["IDEMPOTENCY_STORE"] = store
    orders: list[Any] = []
    app.extensions["orders"] = orders

    @app.post("/orders")
    def place_order() -> tuple[Response, int]:
        orders.append(request.get_json())
        return jsonify(order=len(orders)), 201

    Idempotency(app)
    return app


@pytest.fixture
def app(idempotency_store: MemoryStore) -> Flask:
    return create_app(idempotency_store)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_retry_is_replayed(idempotent_client: IdempotentClient[FlaskClient]) -> None:
    first = idempotent_client.post("/orders", json=ORDER)
    retry = idempotent_client.resend()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json == first.json


def test_duplicates_sent_together_place_one_order(app: Flask) -> None:
    # A test client per request: Flask's is not shared between threads.
    assert_runs_once(
        lambda key: app.test_client().post("/orders", json=ORDER, headers={"Idempotency-Key": key}),
        times=10,
        runs=lambda: len(app.extensions["orders"]),
    )


# [end:flask]
