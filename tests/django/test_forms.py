"""HTML forms: the ``{% idempotency_key_input %}`` tag and a checkout button clicked three
times, with Django's CSRF protection on."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections
from django.http import HttpResponseBase
from django.template import Context, Template
from django.test import Client, TransactionTestCase, override_settings

from idempotency_middleware.django import FORM_FIELD
from idempotency_middleware.testing import assert_runs_once
from integrations.django_project.orders.models import Order
from tests.django.forms import form_body, hidden_inputs

URLENCODED = "application/x-www-form-urlencoded"


def test_the_tag_renders_a_fresh_uuid_each_time() -> None:
    template = Template(
        '{% load idempotency %}{% idempotency_key_input %}{% idempotency_key_input "other" %}'
    )

    first, second = (hidden_inputs(template.render(Context())) for _ in range(2))

    assert set(first) == {FORM_FIELD, "other"}
    assert uuid.UUID(first[FORM_FIELD]).version == 4
    assert first[FORM_FIELD] != first["other"] != second["other"]
    assert first[FORM_FIELD] != second[FORM_FIELD]


@pytest.mark.usefixtures("sqlite_db")
@override_settings(ORDER_DELAY=0.5)
class CheckoutTests(TransactionTestCase):
    """Each click is a request of its own, on a connection of its own, as from a browser
    to a threaded server; the orders they place are committed."""

    def open_checkout(self) -> tuple[Client, str]:
        browser = Client(enforce_csrf_checks=True)
        page = browser.get("/checkout")
        assert page.status_code == 200
        return browser, page.content.decode()

    def click(self, browser: Client, body: str) -> HttpResponseBase:
        # One client per click: a test client is not shared between threads.
        click = Client(enforce_csrf_checks=True)
        click.cookies = browser.cookies
        return click.post("/checkout", body, content_type=URLENCODED)

    def test_three_clicks_charge_once_and_show_one_confirmation(self) -> None:
        browser, page = self.open_checkout()
        body = form_body(page)
        clicks: list[HttpResponseBase] = []

        def click(key: str) -> HttpResponseBase:
            # The key travels in the form's hidden input, which ``body`` holds already.
            try:
                clicks.append(self.click(browser, body))
                return clicks[-1]
            finally:
                # A server closes a request's database connections when it ends; the test
                # client leaves them open, and this thread's would outlive the test.
                connections.close_all()

        key = hidden_inputs(page)[FORM_FIELD]
        original = assert_runs_once(click, times=3, key=key, runs=Order.objects.count)

        # Every click waited for the confirmation: none was turned away with a 409.
        assert [answer.status_code for answer in clicks] == [200, 200, 200]
        order = Order.objects.get()
        assert order.request_key == key
        page_shown = original.content  # type: ignore[attr-defined]
        assert f"Order <strong>#{order.pk}</strong> is confirmed".encode() in page_shown

    def test_another_rendering_of_the_form_is_another_order(self) -> None:
        for _ in range(2):
            browser, page = self.open_checkout()
            assert self.click(browser, form_body(page)).status_code == 200
        assert Order.objects.count() == 2

    def test_a_click_refused_by_csrf_releases_its_key(self) -> None:
        browser, page = self.open_checkout()
        forged = form_body(page).replace("csrfmiddlewaretoken=", "csrfmiddlewaretoken=x")

        assert self.click(browser, forged).status_code == 403
        assert self.click(browser, form_body(page)).status_code == 200
        assert Order.objects.count() == 1
