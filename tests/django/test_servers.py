"""The example Django project under real servers with four worker processes: gunicorn's
sync workers (WSGI) and uvicorn's (ASGI). Fifty identical POSTs at once place one order,
with the database store on PostgreSQL and on MariaDB, and with the cache store on a
shared Redis cache (SEMANTICS section 5); three clicks of a checkout button charge once.

Each database is created for this run, migrated with ``manage.py migrate`` and dropped at
the end; the Redis cache works under a key prefix of this run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.django.environment import REDIS_PREFIX, REDIS_URL, RUN
from tests.django.forms import form_body, hidden_inputs
from tests.support.at_once import the_one_run
from tests.support.databases import MARIADB_URL, POSTGRES_URL
from tests.support.replays import is_replay
from tests.support.servers import ROOT, Server, running_gunicorn, running_server

pytestmark = pytest.mark.server

ORDER = {"item": "annual plan", "amount": 19_900}
DUPLICATES = 50
ORDER_SECONDS = 0.5
SETTINGS = "integrations.django_project.settings"


@contextlib.contextmanager
def project_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server of ``server_url``, migrated; its URL."""
    name = f"idem_django_{RUN}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
        url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "DJANGO_PROJECT_DATABASE": url},
            check=True,
            timeout=180,
        )
        yield url
    finally:
        force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
        admin.dispose()


@pytest.fixture(scope="module")
def postgres_project() -> Iterator[str]:
    with project_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture(scope="module")
def mariadb_project() -> Iterator[str]:
    with project_database(MARIADB_URL) as url:
        yield url


@pytest.fixture(
    params=[
        pytest.param("postgres-database", marks=pytest.mark.postgres),
        pytest.param("mariadb-database", marks=pytest.mark.mariadb),
        pytest.param("redis-cache", marks=pytest.mark.postgres),
    ]
)
def environment(request: pytest.FixtureRequest) -> dict[str, str]:
    """The project's settings: where orders and records live."""
    database, store = request.param.split("-")
    url = request.getfixturevalue(f"{'mariadb' if database == 'mariadb' else 'postgres'}_project")
    env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DJANGO_PROJECT_DATABASE": url,
        "DJANGO_PROJECT_ORDER_DELAY": str(ORDER_SECONDS),
    }
    if store == "database":
        env["DJANGO_PROJECT_STORE"] = "database"
    else:
        env.update(
            DJANGO_PROJECT_CACHE=REDIS_URL, DJANGO_PROJECT_CACHE_PREFIX=f"{REDIS_PREFIX}:servers"
        )
    return env


@contextlib.contextmanager
def serving(kind: str, env: dict[str, str], log_dir: Path) -> Iterator[Server]:
    if kind == "gunicorn":
        with running_gunicorn(
            "integrations.django_project.wsgi:application", log_path=log_dir / "server.log", env=env
        ) as server:
            yield server
    else:
        with running_server(
            "integrations.django_project.asgi:create_application",
            log_path=log_dir / "server.log",
            env=env,
        ) as server:
            yield server


async def post_at_once(base_url: str, key: str) -> list[httpx.Response]:
    """Identical POSTs, each on a connection of its own, sent together."""
    limits = httpx.Limits(max_connections=DUPLICATES, max_keepalive_connections=DUPLICATES)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post("/orders", json=ORDER, headers={"Idempotency-Key": key})
                for _ in range(DUPLICATES)
            )
        )


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_fifty_identical_posts_on_four_workers_place_one_order(
    kind: str, environment: dict[str, str], tmp_path: Path
) -> None:
    key = str(uuid.uuid4())
    with serving(kind, environment, tmp_path) as server:
        responses = asyncio.run(post_at_once(server.base_url, key))
        count = httpx.get(f"{server.base_url}/orders/count", params={"key": key}).json()
        after = httpx.post(
            f"{server.base_url}/orders", json=ORDER, headers={"Idempotency-Key": key}
        )

    assert count == {"count": 1}, server.log()
    original = the_one_run(responses)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("/request-in-progress/")
            assert int(response.headers["retry-after"]) >= 1
    assert is_replay(after)
    assert after.content == original.content
    assert after.headers["location"] == original.headers["location"]


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_three_clicks_on_a_checkout_button_charge_once(
    kind: str, postgres_project: str, tmp_path: Path
) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DJANGO_PROJECT_DATABASE": postgres_project,
        "DJANGO_PROJECT_STORE": "database",
        "DJANGO_PROJECT_ORDER_DELAY": str(ORDER_SECONDS),
    }

    async def click_three_times(base_url: str) -> tuple[str, list[httpx.Response]]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as browser:
            page = (await browser.get("/checkout")).text
            body = form_body(page)
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            clicks = await asyncio.gather(
                *(browser.post("/checkout", content=body, headers=headers) for _ in range(3))
            )
        return page, clicks

    with serving(kind, env, tmp_path) as server:
        page, clicks = asyncio.run(click_three_times(server.base_url))
        key = hidden_inputs(page)["idempotency_key"]
        count = httpx.get(f"{server.base_url}/orders/count", params={"key": key}).json()

    assert count == {"count": 1}, server.log()
    assert [click.status_code for click in clicks] == [200, 200, 200], server.log()
    assert len({click.content for click in clicks}) == 1
    assert b"is confirmed" in clicks[0].content
    assert sorted(is_replay(click) for click in clicks) == [False, True, True]
