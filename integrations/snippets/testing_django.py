"""A Django project's tests with the plugin's fixtures, for the example project's orders
API; ``tests/django/test_testing_plugin.py`` runs them as they are."""

from __future__ import annotations

# [start:django]
from collections.abc import Iterator

import pytest
from django.db import connections
from django.http import HttpResponseBase
from django.test import Client, override_settings

from idempotency_middleware.stores import MemoryStore
from idempotency_middleware.testing import IdempotentClient, assert_runs_once

ORDER = {"item": "annual plan", "amount": 19_900}


@pytest.fixture
def client(idempotency_store: MemoryStore) -> Iterator[Client]:
    with override_settings(IDEMPOTENCY_STORE=idempotency_store):
        yield Client()


def test_a_retry_is_replayed(idempotent_client: IdempotentClient[Client]) -> None:
    first = idempotent_client.post("/orders", ORDER, content_type="application/json")
    retry = idempotent_client.resend()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.content == first.content


def test_duplicates_sent_together_place_one_order(client: Client) -> None:
    def place_order(key: str) -> HttpResponseBase:
        # A Client per request: Django's is not shared between threads.
        try:
            return Client().post(
                "/orders", ORDER, content_type="application/json", headers={"Idempotency-Key": key}
            )
        finally:
            connections.close_all()  # this thread's, as a server closes them

    assert_runs_once(place_order, times=10)


# [end:django]
