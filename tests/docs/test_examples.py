"""The snippet apps of the site do what their pages say, run as a reader would run them."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import Client

from idempotency_middleware import ManualClock, StoredResponse
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp
from idempotency_middleware.stores import MemoryStore, RedisStore, SQLAlchemyStore, Store
from idempotency_middleware.wsgi import IdempotencyMiddleware as WSGIMiddleware
from integrations.snippets import (
    cors,
    fastapi_quickstart,
    flask_quickstart,
    metrics,
    observability,
    placement,
    production,
    purge,
    routes,
    starlette_quickstart,
    stores,
    testing,
    unique_payment,
    webhooks,
    wsgi_quickstart,
)
from tests.docs.pages import ROOT

ORDER = {"item": "annual plan", "amount": 19_900}


def _client(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _twice(app: ASGIApp, **headers: str) -> tuple[httpx.Response, httpx.Response]:
    key = {"Idempotency-Key": str(uuid.uuid4()), **headers}
    async with _client(app) as client:
        first = await client.post("/orders", json=ORDER, headers=key)
        second = await client.post("/orders", json=ORDER, headers=key)
    return first, second


def _assert_replayed(first: httpx.Response, second: httpx.Response) -> None:
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory a reader runs the quick starts in: their SQLite file goes there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "create_app",
    [fastapi_quickstart.create_app, starlette_quickstart.create_app],
    ids=["fastapi", "starlette"],
)
async def test_the_asgi_quick_starts_replay(
    create_app: Callable[[], FastAPI | Starlette], workdir: Path
) -> None:
    app = create_app()
    try:
        _assert_replayed(*await _twice(app))
    finally:
        await app.state.store.aclose()
        app.state.store.close()
    assert (workdir / "idempotency.db").is_file()


async def test_any_asgi_app_is_wrapped(workdir: Path) -> None:
    app = starlette_quickstart.wrap()
    assert isinstance(app, IdempotencyMiddleware)
    try:
        _assert_replayed(*await _twice(app))
    finally:
        await app.options.store.aclose()
        app.options.store.close()


def test_the_flask_quick_start_keeps_records_in_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "records.db"
    monkeypatch.setenv("FLASK_IDEMPOTENCY_DATABASE_URI", f"sqlite:///{database}")
    app = flask_quickstart.create_app()
    try:
        client = app.test_client()
        first = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "k"})
        second = client.post("/orders", json=ORDER, headers={"Idempotency-Key": "k"})
        assert first.status_code == second.status_code == 201
        assert second.get_json() == first.get_json() == {"id": 1, **ORDER}
        assert second.headers["Idempotent-Replayed"] == "true"
        assert database.is_file()
    finally:
        app.extensions["idempotency"].close(app)


def test_any_wsgi_app_is_wrapped(workdir: Path) -> None:
    app = wsgi_quickstart.create_app()
    assert isinstance(app, WSGIMiddleware)
    client = Client(app)
    try:
        first = client.post("/", headers={"Idempotency-Key": "k"}, buffered=True)
        second = client.post("/", headers={"Idempotency-Key": "k"}, buffered=True)
    finally:
        app.options.store.close()
    assert first.get_data() == second.get_data() == b"run 1"
    assert second.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(stores.memory_store, id="memory"),
        pytest.param(stores.sqlite_store, id="sqlite"),
        pytest.param(stores.postgres_store, id="postgres", marks=pytest.mark.postgres),
        pytest.param(stores.mysql_store, id="mariadb", marks=pytest.mark.mariadb),
        pytest.param(stores.redis_store, id="redis"),
        pytest.param(stores.from_environment, id="url"),
    ],
)
async def test_every_store_of_the_choosing_page_serves_the_app(
    build: Callable[[], Store], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_STORE_URL", "memory://")
    store = build()
    try:
        _assert_replayed(*await _twice(testing.create_app(store)))
    finally:
        if isinstance(store, RedisStore):
            store.clear()  # only the keys under the snippet's own prefix
        await store.aclose()
        store.close()


def test_the_cluster_store_is_a_redis_store_on_the_named_nodes() -> None:
    store = stores.cluster_store()
    try:
        assert isinstance(store, RedisStore)
        assert store.prefix == "idem:"
    finally:
        store.close()


@pytest.mark.parametrize("settings", ["django_settings", "django_database_settings"])
def test_the_django_settings_pass_the_deployment_checks(settings: str) -> None:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("DJANGO_")
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", "--deploy"],
        cwd=ROOT,
        env={
            **environment,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": f"integrations.snippets.{settings}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "idempotency_middleware." not in result.stdout + result.stderr


ORIGIN = "https://shop.example"


async def test_cors_lets_a_page_send_keys_and_read_every_answer() -> None:
    app = cors.create_app(MemoryStore(), ORIGIN)
    key = {"Idempotency-Key": "k", "Origin": ORIGIN}
    async with _client(app) as client:
        preflight = await client.options(
            "/orders",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, idempotency-key",
            },
        )
        assert preflight.status_code == 200
        assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
        first = await client.post("/orders", json=ORDER, headers=key)
        replay = await client.post("/orders", json=ORDER, headers=key)
        reused = await client.post("/orders", json={"item": "other"}, headers=key)
    exposed = replay.headers["access-control-expose-headers"].lower()
    assert {"idempotent-replayed", "retry-after"} <= {h.strip() for h in exposed.split(",")}
    assert replay.headers["idempotent-replayed"] == "true"
    assert first.headers["access-control-allow-origin"] == ORIGIN
    # The middleware's own answer carries CORS headers: CORS runs outside it.
    assert reused.status_code == 422
    assert reused.headers["access-control-allow-origin"] == ORIGIN


async def test_keys_are_per_user_and_replays_skip_the_rate_limit() -> None:
    app = placement.create_app(MemoryStore(), limit=1)
    async with _client(app) as client:

        async def post(user: str, key: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {user}", "Idempotency-Key": key}
            return await client.post("/orders", json=ORDER, headers=headers)

        alice = await post("alice", "k")
        alice_again = await post("alice", "k")
        bob = await post("bob", "k")
        limited = await post("alice", "another")
    assert alice.json()["user"] == "alice"
    assert alice_again.headers["idempotent-replayed"] == "true"
    # Bob's "k" is his own: it runs, and is not Alice's replay.
    assert bob.json()["user"] == "bob"
    assert "idempotent-replayed" not in bob.headers
    # Alice's replay did not count against her limit of one; her second order does.
    assert limited.status_code == 429


async def test_a_second_run_of_the_payment_handler_pays_once(tmp_path: Path) -> None:
    store = MemoryStore()
    database = f"sqlite:///{tmp_path / 'payments.db'}"
    app = unique_payment.create_app(store, database)
    headers = {"Idempotency-Key": "pay-1", "X-Account": "acct-7"}
    async with _client(app) as client:
        first = await client.post("/payments", json={"amount": 500}, headers=headers)
        # The record is lost, as when a worker dies before completing it.
        store.clear()
        second = await client.post("/payments", json={"amount": 500}, headers=headers)
        other = await client.post(
            "/payments", json={"amount": 500}, headers={**headers, "X-Account": "acct-8"}
        )
    assert first.status_code == second.status_code == 201
    assert "idempotent-replayed" not in second.headers
    assert second.json() == first.json()
    assert other.json()["id"] != first.json()["id"]


async def test_the_webhook_presets_run_each_delivery_once() -> None:
    app = webhooks.create_app(MemoryStore())
    github = {"X-GitHub-Delivery": str(uuid.uuid4()), "X-GitHub-Hook-ID": "1"}
    event = {"id": "evt_1", "type": "invoice.paid"}
    async with _client(app) as client:
        for attempt in range(5):
            body = {"action": "opened", "attempt": attempt}
            hook = await client.post("/webhooks/github", json=body, headers=github)
            assert hook.status_code == 200
        for _ in range(3):
            paid = await client.post("/webhooks/stripe", json=event)
    assert hook.json() == {"received": 1}
    assert paid.json() == {"received": 2}


async def test_a_route_keeps_its_own_retention_and_key_header() -> None:
    clock = ManualClock()
    app = routes.create_app(MemoryStore(clock=clock))
    delivery = {"X-GitHub-Delivery": str(uuid.uuid4())}
    async with _client(app) as client:
        first = await client.post("/webhooks/github", json={"n": 1}, headers=delivery)
        # Two days on, past the app-wide 24 hours but within the route's three days.
        clock.advance(2 * 86_400)
        second = await client.post("/webhooks/github", json={"n": 1}, headers=delivery)
        clock.advance(2 * 86_400)
        third = await client.post("/webhooks/github", json={"n": 1}, headers=delivery)
    assert first.status_code == second.status_code == third.status_code == 202
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in third.headers


async def test_outcomes_reach_the_json_log_and_the_counters() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    observability.log_as_json(handler)
    app = IdempotencyMiddleware(
        Starlette(routes=[Route("/orders", _echo, methods=["POST"])]),
        store=MemoryStore(),
        on_outcome=metrics.record,
    )
    try:
        first, second = await _twice(app)
    finally:
        logger = logging.getLogger("idempotency_middleware")
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    _assert_replayed(first, second)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["idempotency_outcome"] for line in lines] == ["executed", "replayed"]
    assert {line["idempotency_route"] for line in lines} == {"/orders"}
    assert metrics.OUTCOMES["executed", "/orders"] >= 1
    assert metrics.OUTCOMES["replayed", "/orders"] >= 1


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse(await request.json(), 201)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.db'}"


def test_the_purge_job_deletes_expired_records(sqlite_url: str) -> None:
    # Records written a year ago by a store on a clock of its own have long expired.
    writer = SQLAlchemyStore(sqlite_url, clock=ManualClock(start=1_700_000_000.0))
    try:
        for key in ("a", "b"):
            writer.claim(key, "owner", "fingerprint", 60)
            writer.complete(key, "owner", StoredResponse(201, (), b"{}"), 3600)
        writer.claim("c", "owner", "fingerprint", 10 * 365 * 86_400)
    finally:
        writer.close()
    assert purge.purge(sqlite_url) == 2
    assert purge.main([sqlite_url]) == 0


def test_the_purge_job_prints_its_usage_without_a_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert purge.main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_the_production_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IDEMPOTENCY_STORE_URL", "memory://")
    monkeypatch.setenv("IDEMPOTENCY_SECRET", "s3cret")
    app = production.create_app()
    middleware = app.user_middleware[0]
    assert isinstance(middleware.kwargs["store"], MemoryStore)
    assert middleware.kwargs["secret"] == "s3cret"
