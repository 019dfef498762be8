"""A new project, as ``django-admin startproject`` writes it, with the one MIDDLEWARE line
the README asks for: identical POSTs sent at once to four gunicorn workers insert one
row, with nothing else changed (the local-memory cache sends the records to the
project's database, SQLite or PostgreSQL, whose table the store creates), with the
records in a shared Redis cache, and with the database store set up by the app's
migration. ``manage.py check`` is clean, and with the app installed ``check --deploy``
reports a local cache chosen with ``IDEMPOTENCY_STORE = "cache"``.

Every project lives in the test's own directory; its PostgreSQL database and its Redis
keys are named for this run and removed afterwards.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.django.environment import REDIS_PREFIX, REDIS_URL
from tests.support.at_once import post_at_once, the_one_run
from tests.support.databases import count_rows, throwaway_database
from tests.support.servers import running_gunicorn

pytestmark = pytest.mark.server

MIDDLEWARE_LINE = '    "idempotency_middleware.django.IdempotencyMiddleware",\n'
AUTHENTICATION = re.compile(
    r"^.*django\.contrib\.auth\.middleware\.AuthenticationMiddleware.*\n", re.M
)
VIEW_SECONDS = 0.5
"""How long the purchase view runs: the duplicates arrive while it does."""

ITEM = {"item": "annual plan"}

PURCHASE_VIEW = f"""
import time

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def buy(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO purchases (body) VALUES (%s)", [request.body.decode()])
    time.sleep({VIEW_SECONDS})
    return JsonResponse({{"bought": True}}, status=201)
"""


@dataclass(frozen=True)
class Project:
    """A project made by ``startproject``: its directory and its settings file."""

    directory: Path

    @property
    def settings(self) -> Path:
        return self.directory / "mysite" / "settings.py"

    def add_settings(self, text: str) -> None:
        with self.settings.open("a") as settings:
            settings.write(f"\n{text}\n")

    def manage(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=self.directory,
            env=_environment(),
            capture_output=True,
            text=True,
            timeout=180,
        )


def _environment() -> dict[str, str]:
    # The project's own settings module, whatever the caller's environment names.
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "mysite.settings"}


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A fresh project with the middleware line added after AuthenticationMiddleware, a
    view at ``/buy`` that inserts a row into ``purchases``, and nothing else changed."""
    django_admin = Path(sys.executable).with_name("django-admin")
    directory = tmp_path / "site"
    directory.mkdir()
    subprocess.run(
        [str(django_admin), "startproject", "mysite", str(directory)],
        env=_environment(),
        check=True,
        timeout=60,
    )
    made = Project(directory)
    settings = made.settings.read_text()
    settings, added = AUTHENTICATION.subn(lambda line: line.group() + MIDDLEWARE_LINE, settings)
    assert added == 1, settings
    made.settings.write_text(settings)
    (directory / "mysite" / "purchases.py").write_text(PURCHASE_VIEW)
    urls = directory / "mysite" / "urls.py"
    urls.write_text(
        urls.read_text()
        + "\nfrom mysite.purchases import buy\n\nurlpatterns.append(path('buy', buy))\n"
    )
    return made


def _redis_cache(prefix: str) -> str:
    return (
        "CACHES = {'default': {"
        "'BACKEND': 'django.core.cache.backends.redis.RedisCache', "
        f"'LOCATION': {REDIS_URL!r}, 'KEY_PREFIX': {prefix!r}}}}}"
    )


def _database_store(database: str | None = None) -> str:
    lines = [
        "INSTALLED_APPS.append('idempotency_middleware.django')",
        "IDEMPOTENCY_STORE = 'database'",
    ]
    if database is not None:
        lines.append(f"DATABASES = {{'default': {database}}}")
    return "\n".join(lines)


def _postgres_entry(url: sa.URL) -> str:
    """The DATABASES entry of the database at ``url``, as settings.py source."""
    entry = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": url.database,
        "USER": url.username or "",
        "PASSWORD": url.password or "",
        "HOST": url.host or "",
        "PORT": str(url.port or ""),
    }
    return repr(entry)


def _create_purchases(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE purchases (body TEXT NOT NULL)"))
    finally:
        engine.dispose()


def _buy_at_once(
    project: Project, database_url: str, log_dir: Path, count: int = 3
) -> list[httpx.Response]:
    """``count`` identical purchases with one key, sent together to four workers."""
    _create_purchases(database_url)
    with running_gunicorn(
        "mysite.wsgi:application",
        log_path=log_dir / "gunicorn.log",
        env={"DJANGO_SETTINGS_MODULE": "mysite.settings"},
        cwd=project.directory,
    ) as server:
        responses = post_at_once(
            server.base_url,
            "/buy",
            count,
            json=ITEM,
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
    assert count_rows(database_url, "purchases") == 1, server.log()
    return responses


def _on_postgres(
    project: Project,
    log_dir: Path,
    settings: Callable[[str], str],
    *,
    count: int,
    migrate: bool = True,
) -> tuple[subprocess.CompletedProcess[str], list[httpx.Response]]:
    """``manage.py check`` and ``count`` purchases at once, with the ``settings`` of a
    DATABASES entry added for a throwaway PostgreSQL database."""
    with throwaway_database() as database:
        url = database.render_as_string(hide_password=False)
        project.add_settings(settings(_postgres_entry(database)))
        if migrate:
            migrated = project.manage("migrate", "--noinput")
            assert migrated.returncode == 0, migrated.stderr
        check = project.manage("check")
        return check, _buy_at_once(project, url, log_dir, count)


def _sqlite_url(project: Project) -> str:
    # startproject's database: db.sqlite3 beside manage.py.
    return f"sqlite:///{project.directory / 'db.sqlite3'}"


def test_with_redis_three_posts_at_once_insert_one_row(project: Project, tmp_path: Path) -> None:
    project.add_settings(_redis_cache(f"{REDIS_PREFIX}:startproject"))

    check = project.manage("check")
    responses = _buy_at_once(project, _sqlite_url(project), tmp_path)

    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    the_one_run(responses)


def test_with_the_database_store_on_sqlite_three_posts_at_once_insert_one_row(
    project: Project, tmp_path: Path
) -> None:
    project.add_settings(_database_store())
    migrate = project.manage("migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr

    check = project.manage("check")
    responses = _buy_at_once(project, _sqlite_url(project), tmp_path)

    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    the_one_run(responses)


@pytest.mark.postgres
def test_with_the_database_store_on_postgres_three_posts_at_once_insert_one_row(
    project: Project, tmp_path: Path
) -> None:
    check, responses = _on_postgres(project, tmp_path, _database_store, count=3)

    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    the_one_run(responses)


def test_as_startproject_made_it_twenty_posts_at_once_insert_one_row(
    project: Project, tmp_path: Path
) -> None:
    # startproject's own settings: SQLite, the local-memory cache, DEBUG on, no migrate.
    responses = _buy_at_once(project, _sqlite_url(project), tmp_path, count=20)

    the_one_run(responses)


@pytest.mark.postgres
def test_on_postgres_with_the_local_cache_twenty_posts_at_once_insert_one_row(
    project: Project, tmp_path: Path
) -> None:
    # Only DATABASES changed, and no migrate.
    def database_only(entry: str) -> str:
        return f"DATABASES = {{'default': {entry}}}"

    _, responses = _on_postgres(project, tmp_path, database_only, count=20, migrate=False)

    the_one_run(responses)


def test_check_is_clean_and_check_deploy_reports_a_local_cache_chosen_for_the_records(
    project: Project,
) -> None:
    check = project.manage("check")
    # The checks are the app's: Django runs them for installed apps only.
    project.add_settings("INSTALLED_APPS.append('idempotency_middleware.django')")
    in_the_database = project.manage("check", "--deploy")
    project.add_settings("IDEMPOTENCY_STORE = 'cache'")
    in_the_local_cache = project.manage("check", "--deploy")
    project.add_settings(_redis_cache(f"{REDIS_PREFIX}:startproject"))
    shared = project.manage("check", "--deploy")

    assert check.returncode == 0, check.stderr
    assert "System check identified no issues" in check.stdout
    # Django's own deploy checks find more in a new project (DEBUG, SECRET_KEY, and from
    # Django 6.1 an error for the console e-mail backend); ours is among them.
    assert "idempotency_middleware" not in in_the_database.stderr
    assert "idempotency_middleware.W002" in in_the_local_cache.stderr
    assert "LocMemCache" in in_the_local_cache.stderr
    assert "idempotency_middleware" not in shared.stderr
