"""The database store: the store contract on SQLite, PostgreSQL and MariaDB, and how it
shares Django's connection and transactions."""

from __future__ import annotations

import json
import unittest
from collections.abc import AsyncIterator, Iterator

import pytest
from django.db import connections, transaction
from django.test import TestCase, override_settings

from idempotency_middleware import ConfigurationError, ManualClock
from idempotency_middleware.django import DatabaseStore
from idempotency_middleware.django.models import IdempotencyRecord
from idempotency_middleware.stores.base import Store
from tests.django.contract import TidyDatabaseStore, contract_tests
from tests.stores.faces import Face, digest

globals().update(contract_tests())

ALIASES = [
    pytest.param("default", id="sqlite"),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


def _database(request: pytest.FixtureRequest, alias: str) -> None:
    request.getfixturevalue("sqlite_db" if alias == "default" else f"{alias}_db")


@pytest.fixture(params=ALIASES)
def kind(request: pytest.FixtureRequest) -> str:
    alias: str = request.param
    _database(request, alias)
    return alias


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sync_store(kind: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The database store of alias ``kind``, on an empty, committed table."""
    # The contract's async tests call the sync face from the event loop on purpose.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    store = TidyDatabaseStore(kind, clock=clock)
    store.clear()
    yield store
    store.clear()
    store.close()


@pytest.fixture(params=["sync", "async"])
async def face(sync_store: Store, request: pytest.FixtureRequest) -> AsyncIterator[Face]:
    yield Face(sync_store, request.param)
    await sync_store.aclose()


@pytest.mark.parametrize("alias", ALIASES)
def test_a_claim_inside_a_transaction_is_refused(
    alias: str, request: pytest.FixtureRequest
) -> None:
    _database(request, alias)
    store = DatabaseStore(alias)
    try:
        with (
            transaction.atomic(using=alias),
            pytest.raises(ConfigurationError, match="inside a transaction"),
        ):
            store.claim(digest("key"), "owner-a", "fingerprint", 60.0)
        assert store.get(digest("key")) is None
    finally:
        store.close()


def test_mysql_without_returning_reads_the_claim_back(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    _database(request, "mariadb")
    connection = connections["mariadb"]
    connection.ensure_connection()
    monkeypatch.setattr(connection.features, "can_return_columns_from_insert", False)
    store = DatabaseStore("mariadb")
    try:
        store.clear()
        assert store.claim(digest("key"), "owner-a", "fingerprint-a", 60.0).claimed
        standing = store.claim(digest("key"), "owner-b", "fingerprint-b", 60.0)
        assert not standing.claimed
        assert standing.record is not None
        assert (standing.record.owner, standing.record.fingerprint) == ("owner-a", "fingerprint-a")
        assert store.claim(digest("key"), "owner-a", "fingerprint-a", 60.0).claimed
    finally:
        store.clear()
        store.close()


class _WritesARecord(TestCase):
    """Run by the test below: a request that leaves a record, inside a TestCase."""

    alias = "default"
    databases = {"default", "postgres", "mariadb"}

    def test_a_request(self) -> None:
        with override_settings(IDEMPOTENCY_STORE="database", IDEMPOTENCY_DATABASE=self.alias):
            order = json.dumps({"item": "plan", "amount": 1})
            for _ in range(2):
                self.client.post(
                    "/echo",
                    order,
                    content_type="application/json",
                    headers={"Idempotency-Key": "k"},
                )
        assert IdempotencyRecord.objects.using(self.alias).count() == 1


@pytest.mark.parametrize("alias", ALIASES)
def test_a_testcase_rolls_its_records_back(alias: str, request: pytest.FixtureRequest) -> None:
    for database in ("default", "postgres", "mariadb"):
        _database(request, database)
    case = type("WritesARecord", (_WritesARecord,), {"alias": alias})("test_a_request")

    result = unittest.TestResult()
    unittest.TestSuite([case]).run(result)

    assert result.wasSuccessful(), result.errors + result.failures
    assert not IdempotencyRecord.objects.using(alias).exists()
