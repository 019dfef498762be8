"""The system checks (``manage.py check`` and ``check --deploy``), by id."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.http import HttpResponse
from django.test import override_settings

from idempotency_middleware.django.checks import check_settings
from idempotency_middleware.django.middleware import IdempotencyMiddleware, _warn_about_the_cache

pytestmark = pytest.mark.usefixtures("sqlite_db")

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def ids(*, deploy: bool = False) -> list[str]:
    messages = run_checks(include_deployment_checks=deploy, tags=["idempotency"])
    return [message.id or "" for message in messages]


def test_the_example_project_passes() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("overrides", "check_id", "named"),
    [
        ({"IDEMPOTENCY_TTL": 0}, "E001", "IDEMPOTENCY_TTL"),
        ({"IDEMPOTENCY_HEADER": "X-Id", "IDEMPOTENCY_KEY": lambda r: None}, "E001", "header"),
        ({"IDEMPOTENCY_SCOPE": "no.such.scope"}, "E001", "IDEMPOTENCY_SCOPE"),
        ({"IDEMPOTENCY_CACHE": "missing"}, "E003", "CACHES"),
        (
            {"IDEMPOTENCY_STORE": "database", "IDEMPOTENCY_DATABASE": "missing"},
            "E004",
            "DATABASES",
        ),
        # The local cache sends the records to a database that must be fit for them.
        ({"IDEMPOTENCY_DATABASE": "missing"}, "E004", "LocMemCache"),
        ({"IDEMPOTENCY_STORE": 42}, "E005", "IDEMPOTENCY_STORE"),
        ({"IDEMPOTENCY_STORE": "databse"}, "E005", "IDEMPOTENCY_STORE"),
    ],
)
def test_wrong_settings_are_errors(overrides: dict[str, object], check_id: str, named: str) -> None:
    with override_settings(**overrides):
        messages = run_checks(tags=["idempotency"])
    assert [m.id for m in messages] == [f"idempotency_middleware.{check_id}"]
    assert named in messages[0].msg
    assert messages[0].is_serious()


def test_the_database_store_needs_the_app() -> None:
    apps = [app for app in settings.INSTALLED_APPS if app != "idempotency_middleware.django"]
    with override_settings(INSTALLED_APPS=apps, IDEMPOTENCY_STORE="database"):
        # The app's checks are not registered without it: call the check itself.
        messages = check_settings(None)
    assert [m.id for m in messages] == ["idempotency_middleware.E002"]


def test_the_middleware_before_authentication_is_a_warning() -> None:
    middleware = list(settings.MIDDLEWARE)
    ours = middleware.pop(middleware.index("idempotency_middleware.django.IdempotencyMiddleware"))
    with override_settings(MIDDLEWARE=[ours, *middleware]):
        assert ids() == ["idempotency_middleware.W001"]


def test_a_local_cache_is_not_used_unless_chosen() -> None:
    # Unset, IDEMPOTENCY_STORE sends the records past the local cache, to the database.
    assert settings.CACHES["default"]["BACKEND"] == LOCMEM
    assert ids(deploy=True) == []


@override_settings(IDEMPOTENCY_STORE="cache")
def test_a_local_cache_chosen_is_a_warning_of_the_deploy_checks_only() -> None:
    assert ids() == []
    assert ids(deploy=True) == ["idempotency_middleware.W002"]


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.filebased.FileBasedCache",
        "django.core.cache.backends.db.DatabaseCache",
    ],
)
def test_a_cache_without_atomic_add_is_a_deploy_error_when_chosen(backend: str) -> None:
    caches = {**settings.CACHES, "default": {"BACKEND": backend, "LOCATION": "/tmp/unused"}}
    with override_settings(CACHES=caches):
        unset = ids(deploy=True)
        with override_settings(IDEMPOTENCY_STORE="cache"):
            chosen = ids(deploy=True)
    assert unset == []
    assert chosen == ["idempotency_middleware.E006"]


@pytest.mark.parametrize(
    "overrides", [{"IDEMPOTENCY_CACHE": "redis"}, {"IDEMPOTENCY_STORE": "database"}]
)
def test_shared_stores_pass_the_deploy_checks(overrides: dict[str, str]) -> None:
    with override_settings(**overrides):
        assert ids(deploy=True) == []


@pytest.mark.parametrize(
    ("store", "debug", "warned"),
    [("cache", False, True), ("cache", True, False), (None, False, False)],
)
def test_a_production_server_logs_a_local_cache_chosen_at_start_up(
    caplog: pytest.LogCaptureFixture, store: str | None, debug: bool, warned: bool
) -> None:
    # Without the app in INSTALLED_APPS no deploy check runs: the log still says it.
    assert settings.CACHES["default"]["BACKEND"] == LOCMEM
    _warn_about_the_cache.cache_clear()
    with (
        override_settings(DEBUG=debug, IDEMPOTENCY_STORE=store),
        caplog.at_level("WARNING", "idempotency_middleware"),
    ):
        IdempotencyMiddleware(lambda request: HttpResponse())
        IdempotencyMiddleware(lambda request: HttpResponse())
    _warn_about_the_cache.cache_clear()
    warnings = [r.getMessage() for r in caplog.records if "W002" in r.getMessage()]
    assert len(warnings) == (1 if warned else 0)
