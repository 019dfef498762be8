"""A FastAPI user's suite: httpx's AsyncClient on the app, wrapped, and duplicates sent
together in the event loop."""

from __future__ import annotations

from tests.testing.conftest import RunUsersSuite

CONFTEST = """
import httpx
import pytest
from fastapi import FastAPI

from idempotency_middleware.asgi import IdempotencyMiddleware


def create_app(store=None):
    app = FastAPI()
    if store is not None:
        app.add_middleware(IdempotencyMiddleware, store=store)
    app.state.runs = 0

    @app.post("/orders", status_code=201)
    async def place_order():
        app.state.runs += 1
        return {"order": app.state.runs}

    return app


def http_client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
def app(idempotency_store):
    return create_app(idempotency_store)


@pytest.fixture
async def client(app):
    async with http_client(app) as client:
        yield client
"""

TESTS = """
from conftest import create_app, http_client
from idempotency_middleware.testing import assert_runs_once_async


async def test_each_post_has_a_key_of_its_own_and_a_resend_is_replayed(idempotent_client):
    first = await idempotent_client.post("/orders")
    second = await idempotent_client.post("/orders")
    again = await idempotent_client.resend()
    assert [first.json(), second.json(), again.json()] == [{"order": 1}, {"order": 2}, {"order": 2}]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in second.headers


async def test_a_key_given_is_kept(idempotent_client):
    first = await idempotent_client.post("/orders", headers={"idempotency-key": "order-7"})
    second = await idempotent_client.post("/orders", headers={"Idempotency-Key": "order-7"})
    assert idempotent_client.last_key == "order-7"
    assert second.json() == first.json() == {"order": 1}


async def test_duplicates_sent_together_run_once(client, app):
    original = await assert_runs_once_async(
        lambda key: client.post("/orders", headers={"Idempotency-Key": key}),
        times=8,
        runs=lambda: app.state.runs,
    )
    assert original.json() == {"order": 1}


async def test_an_unprotected_app_runs_every_duplicate():
    async with http_client(create_app()) as client:
        await assert_runs_once_async(
            lambda key: client.post("/orders", headers={"Idempotency-Key": key}), times=3
        )
"""


def test_a_fastapi_suite_passes_where_the_app_is_protected(run_users_suite: RunUsersSuite) -> None:
    result = run_users_suite(conftest=CONFTEST, tests=TESTS)
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E * AssertionError: 3 of 3 identical requests with one key ran the handler "
            "(answered neither with Idempotent-Replayed: true nor 409); expected exactly one. "
            "Does the middleware cover this route and method? Answers: 201, 201, 201.",
            "*FAILED test_users_app.py::test_an_unprotected_app_runs_every_duplicate*",
        ]
    )
