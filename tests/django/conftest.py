"""Django for the Django tests: the example project's settings with a URLconf of test
views, three databases and two caches, configured once for the process.

The databases are the shared PostgreSQL and MariaDB servers (required, like everywhere
in the suite) and a SQLite file; each gets a test database of a name unique to this run,
created the first time a test asks for it and dropped at the end, so parallel runs and
other suites never meet. The Redis cache works under a key prefix of this run.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
import redis
from django.conf import settings
from django.db import connections
from django.test.utils import setup_test_environment, teardown_test_environment

from integrations.django_project import settings as project
from tests.django.environment import REDIS_PREFIX, REDIS_URL, RUN
from tests.support.databases import MARIADB_URL, POSTGRES_URL

_SQLITE_DIRECTORY = Path(tempfile.mkdtemp(prefix="idem-django-"))


def _server_database(url: str) -> dict[str, Any]:
    entry = project.database(url)
    entry["TEST"] = {"NAME": f"test_idem_django_{RUN}"}
    return entry


def _configure() -> None:
    values = {name: getattr(project, name) for name in dir(project) if name.isupper()}
    # What the environment may have set for the example project does not apply here.
    values.pop("IDEMPOTENCY_STORE", None)
    values.update(
        ROOT_URLCONF="tests.django.urls",
        INSTALLED_APPS=[*project.INSTALLED_APPS, "rest_framework", "rest_framework.authtoken"],
        ORDER_DELAY=0.0,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(_SQLITE_DIRECTORY / "default.sqlite3"),
                "TEST": {"NAME": str(_SQLITE_DIRECTORY / "test_default.sqlite3")},
            },
            "postgres": _server_database(POSTGRES_URL),
            "mariadb": _server_database(MARIADB_URL),
        },
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "redis": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": REDIS_URL,
                "KEY_PREFIX": REDIS_PREFIX,
            },
        },
    )
    settings.configure(**values)
    django.setup()


if not settings.configured:
    _configure()


def _create(alias: str) -> Iterator[None]:
    connection = connections[alias]
    # No serialize argument: Django 6 deprecates it, and 5.2's default costs little here.
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _django_test_environment() -> Iterator[None]:
    setup_test_environment()
    yield
    teardown_test_environment()
    shutil.rmtree(_SQLITE_DIRECTORY, ignore_errors=True)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="session")
def sqlite_db() -> Iterator[None]:
    """The test database of alias ``default`` (SQLite), migrated."""
    yield from _create("default")


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[None]:
    """The test database of alias ``postgres``, migrated."""
    yield from _create("postgres")


@pytest.fixture(scope="session")
def mariadb_db() -> Iterator[None]:
    """The test database of alias ``mariadb``, migrated."""
    yield from _create("mariadb")
