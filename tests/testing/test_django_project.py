"""A Django user's suite: the test Client, wrapped, with the store in the settings."""

from __future__ import annotations

from tests.testing.conftest import RunUsersSuite

CONFTEST = """
import django
import pytest
from django.conf import settings
from django.test import Client, override_settings

settings.configure(
    SECRET_KEY="a test key that is long enough to be a key, with letters and 0123456789",
    ALLOWED_HOSTS=["testserver"],
    ROOT_URLCONF="shop_urls",
    MIDDLEWARE=["idempotency_middleware.django.IdempotencyMiddleware"],
    INSTALLED_APPS=[],
    DATABASES={},
)
django.setup()


@pytest.fixture
def client(idempotency_store):
    with override_settings(IDEMPOTENCY_STORE=idempotency_store):
        yield Client()
"""

URLS = """
from django.http import JsonResponse
from django.urls import path

from idempotency_middleware.django import idempotency_exempt

ORDERS = []


def place_order(request):
    ORDERS.append(request.body)
    return JsonResponse({"order": len(ORDERS)}, status=201)


urlpatterns = [
    path("orders", place_order),
    path("quotes", idempotency_exempt(place_order)),
]
"""

TESTS = """
from django.test import Client

from idempotency_middleware.testing import assert_runs_once
from shop_urls import ORDERS


def test_each_post_has_a_key_of_its_own_and_a_resend_is_replayed(idempotent_client):
    first = idempotent_client.post("/orders", {"item": "book"}, content_type="application/json")
    again = idempotent_client.resend()
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert idempotent_client.post("/orders").json() != first.json()


def test_duplicates_sent_together_run_once(client):
    ran = len(ORDERS)
    # A Client per request: Django's is not shared between threads.
    assert_runs_once(
        lambda key: Client().post("/orders", headers={"Idempotency-Key": key}),
        times=5,
        runs=lambda: len(ORDERS) - ran,
    )


def test_an_exempt_view_runs_every_duplicate(client):
    assert_runs_once(lambda key: Client().post("/quotes", headers={"Idempotency-Key": key}))
"""


def test_a_django_suite_passes_where_the_view_is_protected(run_users_suite: RunUsersSuite) -> None:
    result = run_users_suite(conftest=CONFTEST, tests=TESTS, shop_urls=URLS)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: 5 of 5 identical requests with one key ran the handler*",
            "*FAILED test_users_app.py::test_an_exempt_view_runs_every_duplicate*",
        ]
    )
