"""Idempotent functions on Django's stores: the cache on Redis, and the database."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from idempotency_middleware.django import CacheStore
from idempotency_middleware.stores.base import Store
from tests.django.contract import TidyDatabaseStore
from tests.functions.calls import FACES, assert_threads_book_once, call, decorated

STORES = [
    pytest.param("cache", id="cache-redis"),
    pytest.param("default", id="database-sqlite"),
    pytest.param("postgres", id="database-postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=STORES)
def django_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Store]:
    """A Django store holding no records."""
    store: Store
    if request.param == "cache":
        store = CacheStore("redis", prefix=f"idem-{secrets.token_hex(6)}:")
    else:
        request.getfixturevalue("sqlite_db" if request.param == "default" else "postgres_db")
        # The async tests call the sync face from the event loop on purpose.
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        store = TidyDatabaseStore(request.param)
    store.clear()
    yield store
    store.clear()
    store.close()


@pytest.fixture
async def store(django_store: Store) -> AsyncIterator[Store]:
    """``django_store``, its async face closed on the test's loop."""
    yield django_store
    await django_store.aclose()


def test_eight_threads_delivering_one_message_book_it_once(store: Store) -> None:
    assert_threads_book_once(store, 8)


@pytest.mark.parametrize("face", FACES)
async def test_a_repeat_gets_the_stored_result_and_a_failure_frees_the_key(
    face: str, store: Store
) -> None:
    runs: list[str] = []

    def book(key: str, cents: int) -> str:
        runs.append(key)
        if key == "fails-once" and runs.count(key) == 1:
            raise ConnectionError("the payment provider timed out")
        return secrets.token_hex(8)

    function = decorated(face, store, book)
    original = await call(function, "delivery-1")
    assert await call(function, "delivery-1") == original
    with pytest.raises(ConnectionError):
        await call(function, "fails-once")
    assert await call(function, "fails-once") == await call(function, "fails-once")
    assert runs == ["delivery-1", "fails-once", "fails-once"]
