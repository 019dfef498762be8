"""A Flask user's suite: the app's test client, wrapped, and runs counted by the app."""

from __future__ import annotations

from tests.testing.conftest import RunUsersSuite

CONFTEST = """
import pytest
from flask import Flask, jsonify

from idempotency_middleware.flask import Idempotency

# Named as well as registered by the entry point: loaded once.
pytest_plugins = ["idempotency_middleware.pytest_plugin"]


def create_app(store=None):
    app = Flask(__name__)
    orders = app.extensions["orders"] = []

    @app.post("/orders")
    def place_order():
        orders.append(1)
        return jsonify(order=len(orders)), 201

    if store is not None:
        app.config["IDEMPOTENCY_STORE"] = store
        Idempotency(app)
    return app


@pytest.fixture
def app(idempotency_store):
    return create_app(idempotency_store)


@pytest.fixture
def client(app):
    return app.test_client()
"""

TESTS = """
from conftest import create_app
from idempotency_middleware.testing import assert_runs_once


def test_each_post_has_a_key_of_its_own_and_a_resend_is_replayed(idempotent_client):
    first = idempotent_client.post("/orders", json={"item": "book"})
    second = idempotent_client.post("/orders", json={"item": "book"})
    again = idempotent_client.resend()
    assert [first.json, second.json, again.json] == [{"order": 1}, {"order": 2}, {"order": 2}]
    assert again.headers["Idempotent-Replayed"] == "true"


def test_the_store_holds_one_record_per_key(idempotent_client, idempotency_store):
    idempotent_client.post("/orders")
    idempotent_client.resend()
    assert len(idempotency_store) == 1


def test_duplicates_sent_together_run_once(app):
    # A test client per request: Flask's is not shared between threads.
    original = assert_runs_once(
        lambda key: app.test_client().post("/orders", headers={"Idempotency-Key": key}),
        times=6,
        runs=lambda: len(app.extensions["orders"]),
    )
    assert original.json == {"order": 1}


def test_an_unprotected_app_runs_every_duplicate():
    app = create_app()
    assert_runs_once(
        lambda key: app.test_client().post("/orders", headers={"Idempotency-Key": key}),
        times=4,
        runs=lambda: len(app.extensions["orders"]),
    )
"""


def test_a_flask_suite_passes_where_the_app_is_protected(run_users_suite: RunUsersSuite) -> None:
    result = run_users_suite(conftest=CONFTEST, tests=TESTS)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: the handler ran 4 times for 4 identical requests with one key*",
            "*FAILED test_users_app.py::test_an_unprotected_app_runs_every_duplicate*",
        ]
    )
