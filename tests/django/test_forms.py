"""HTML forms: the ``{% idempotency_key_input %}`` tag and a checkout button clicked three
times, with Django's CSRF protection on."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.http import HttpResponseBase
from django.template import Context, Template
from django.test import Client, TransactionTestCase, override_settings

from idempotency_middleware.django import FORM_FIELD
from integrations.django_project.orders.models import Order
from tests.django.forms import form_body, hidden_inputs
from tests.support.replays import is_replay

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
        start = threading.Barrier(3)

        def click_at_once(_: int) -> HttpResponseBase:
            start.wait(timeout=10)
            try:
                return self.click(browser, body)
            finally:
                # A server closes a request's database connections when it ends; the test
                # client leaves them open, and this thread's would outlive the test.
                connections.close_all()

        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(click_at_once, range(3)))

        order = Order.objects.get()
        assert order.request_key == hidden_inputs(page)[FORM_FIELD]
        assert [answer.status_code for answer in answers] == [200, 200, 200]
        pages = {answer.content for answer in answers}  # type: ignore[attr-defined]
        assert pages == {answers[0].content}  # type: ignore[attr-defined]
        assert f"Order <strong>#{order.pk}</strong> is confirmed".encode() in pages.pop()
        assert sorted(is_replay(answer) for answer in answers) == [False, True, True]

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
