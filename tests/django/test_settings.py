"""The IDEMPOTENCY_* settings: stores, key sources, scope, secret, start-up errors."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import override_settings

from idempotency_middleware import ConfigurationError, MemoryStore, Request
from idempotency_middleware.django import FORM_FIELD, FORM_KEY, IdempotencyMiddleware
from idempotency_middleware.django.conf import conf
from idempotency_middleware.django.models import IdempotencyRecord
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from tests.django import views
from tests.django.clients import ClientTestCase
from tests.django.environment import REDIS_URL
from tests.support.replays import is_replay

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})


def tenant_scope(request: Request) -> str:
    """A scope function named by dotted path in a test."""
    return "tenant:" + (request.header("x-tenant") or "")


class StoreSettingTests(ClientTestCase):
    databases = {"default"}

    def replays(self, key: str) -> bool:
        self.post("/echo", ORDER, key=key)
        return is_replay(self.post("/echo", ORDER, key=key))

    def test_the_default_store_with_a_local_cache_is_the_database(self) -> None:
        assert self.replays("default-1")
        assert type(conf.options().store).__name__ == "DatabaseStore"
        assert IdempotencyRecord.objects.get().status == 201

    @override_settings(IDEMPOTENCY_CACHE="redis")
    def test_the_default_store_with_a_shared_redis_cache_is_the_cache(self) -> None:
        assert self.replays(str(uuid.uuid4()))
        assert type(conf.options().store).__name__ == "CacheStore"
        assert not IdempotencyRecord.objects.exists()

    @override_settings(IDEMPOTENCY_STORE="cache")
    def test_the_cache_store_when_chosen_whatever_the_cache(self) -> None:
        assert self.replays("cache-1")
        assert type(conf.options().store).__name__ == "CacheStore"
        assert not IdempotencyRecord.objects.exists()

    @override_settings(IDEMPOTENCY_STORE="database")
    def test_the_database_store(self) -> None:
        assert self.replays("database-1")
        record = IdempotencyRecord.objects.get()
        assert record.state == "completed"
        assert record.status == 201
        assert record.key != "database-1"  # a digest, never the raw key

    def test_a_store_url(self) -> None:
        url = f"sqlite:///{Path(settings.DATABASES['default']['NAME']).parent / 'urls.db'}"
        with override_settings(IDEMPOTENCY_STORE=url):
            assert self.replays("url-1")
            assert type(conf.options().store).__name__ == "SQLAlchemyStore"

    def test_a_redis_url(self) -> None:
        key = str(uuid.uuid4())
        with override_settings(IDEMPOTENCY_STORE=REDIS_URL):
            assert self.replays(key)
            store = conf.options().store
            assert store.forget(lookup_key(ANONYMOUS_SCOPE, key, settings.SECRET_KEY.encode()))

    def test_a_store_object(self) -> None:
        store = MemoryStore()
        with override_settings(IDEMPOTENCY_STORE=store):
            assert self.replays("object-1")
        assert len(store) == 1


class KeyAndScopeSettingTests(ClientTestCase):
    def test_the_form_key_setting_and_its_dotted_path(self) -> None:
        urlencoded = "application/x-www-form-urlencoded"
        for setting in (FORM_KEY, "idempotency_middleware.django.FORM_KEY"):
            views.calls.clear()
            # Keys of their own: the records of the first setting stay in the database.
            form = f"item=plan&amount=1&{FORM_FIELD}={uuid.uuid4()}"
            with override_settings(IDEMPOTENCY_KEY=setting):
                self.post("/echo", form, content_type=urlencoded)
                assert is_replay(self.post("/echo", form, content_type=urlencoded))
                # Another rendering of the form, another key: another order.
                other = f"item=plan&amount=1&{FORM_FIELD}={uuid.uuid4()}"
                assert not is_replay(self.post("/echo", other, content_type=urlencoded))
            assert views.calls["echo"] == 2

    @override_settings(IDEMPOTENCY_SCOPE="tests.django.test_settings.tenant_scope")
    def test_a_scope_function_by_dotted_path(self) -> None:
        self.post("/echo", ORDER, key="k", headers={"X-Tenant": "a"})
        assert not is_replay(self.post("/echo", ORDER, key="k", headers={"X-Tenant": "b"}))
        assert is_replay(self.post("/echo", ORDER, key="k", headers={"X-Tenant": "a"}))

    def test_lookup_keys_are_keyed_with_secret_key_unless_idempotency_secret_is_set(self) -> None:
        for overrides, secret in (
            ({}, settings.SECRET_KEY),
            ({"IDEMPOTENCY_SECRET": "another secret"}, "another secret"),
        ):
            store = MemoryStore()
            with override_settings(IDEMPOTENCY_STORE=store, **overrides):
                self.post("/echo", ORDER, key="secret-1")
            assert store.get(lookup_key(ANONYMOUS_SCOPE, "secret-1", secret.encode()))


def view(request: HttpRequest) -> HttpResponse:
    return HttpResponse()


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"IDEMPOTENCY_TTL": -1}, "IDEMPOTENCY_TTL"),
        ({"IDEMPOTENCY_IN_FLIGHT": "sometimes"}, "IDEMPOTENCY_IN_FLIGHT"),
        ({"IDEMPOTENCY_KEY": "no.such.module.key"}, "IDEMPOTENCY_KEY"),
        ({"IDEMPOTENCY_STORE": "ftp://example"}, "IDEMPOTENCY_STORE"),
        ({"IDEMPOTENCY_CACHE": "missing"}, "IDEMPOTENCY_CACHE"),
    ],
)
def test_a_wrong_setting_fails_when_the_middleware_loads(
    overrides: dict[str, object], named: str
) -> None:
    with override_settings(**overrides), pytest.raises(ConfigurationError, match=named):
        IdempotencyMiddleware(view)
