"""A server-rendered checkout form whose button is clicked several times (SEMANTICS 2).

The example shop renders a fresh key into a hidden input; every click on that page
posts the same key, and ``in_flight="wait"`` gives each click the one confirmation.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from idempotency_middleware import keys
from idempotency_middleware.flask import Idempotency
from idempotency_middleware.stores import MemoryStore
from idempotency_middleware.testing import IdempotentClient, assert_runs_once
from integrations.flask_app import create_app, idempotency
from integrations.orders import OrderBook

ORDER = {"item": "annual plan", "amount": "19900"}
CLICKS = 3
_HIDDEN = re.compile(r'<input type="hidden" name="idempotency_key" value="([^"]+)">')


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Flask]:
    """The example shop on SQLite files, with its default SQL store."""
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    app = create_app(orders_url=url, delay=0.3, IDEMPOTENCY_DATABASE_URI=url)
    yield app
    idempotency.close(app)


def charges(app: Flask) -> OrderBook:
    books: Any = app.extensions["orders"]
    charge_book: OrderBook = books.charges
    return charge_book


def form_key(client: FlaskClient) -> str:
    page = client.get("/checkout").get_data(as_text=True)
    match = _HIDDEN.search(page)
    assert match is not None, page
    return match.group(1)


def test_each_rendering_of_the_form_draws_a_fresh_key(shop: Flask) -> None:
    client = shop.test_client()
    first, second = form_key(client), form_key(client)
    assert first != second
    assert uuid.UUID(first).version == 4


def test_clicking_three_times_charges_once_and_confirms_three_times(shop: Flask) -> None:
    clicks: list[TestResponse] = []

    def click(key: str) -> TestResponse:
        # A test client per click: a browser's clicks share no state but the page.
        answer = shop.test_client().post("/checkout", data={**ORDER, "idempotency_key": key})
        clicks.append(answer)
        return answer

    key = form_key(shop.test_client())
    original = assert_runs_once(click, times=CLICKS, key=key, runs=lambda: charges(shop).count(key))

    # Every click waited for the confirmation: none was turned away with a 409.
    assert [answer.status_code for answer in clicks] == [200] * CLICKS
    assert b"Charge #1: annual plan, 199.00." in original.data


def test_a_multipart_form_posted_twice_is_charged_once(shop: Flask) -> None:
    # Each submission draws a new multipart boundary; the fingerprint reads the parts.
    client = shop.test_client()
    key = form_key(client)

    def submit() -> Any:
        receipt = (io.BytesIO(b"receipt please"), "note.txt")
        return client.post("/checkout", data={**ORDER, "idempotency_key": key, "note": receipt})

    first, second = submit(), submit()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.data == first.data
    assert charges(shop).count(key) == 1


def test_another_page_is_another_charge(shop: Flask) -> None:
    client = shop.test_client()
    client.post("/checkout", data={**ORDER, "idempotency_key": form_key(client)})
    client.post("/checkout", data={**ORDER, "idempotency_key": form_key(client)})
    assert charges(shop).count() == 2


def test_a_form_without_the_hidden_input_runs_every_time(shop: Flask) -> None:
    client = shop.test_client()
    client.post("/checkout", data=ORDER)
    client.post("/checkout", data=ORDER)
    assert charges(shop).count() == 2


def test_the_json_api_keeps_the_header_key(shop: Flask) -> None:
    client = IdempotentClient(shop.test_client())
    order = {"item": "book", "amount": 1200}
    first = client.post("/orders", json=order)
    second = client.resend()
    assert first.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"/orders/count?key={client.last_key}").get_json() == {"count": 1}


def test_the_hidden_input_is_escaped_and_follows_the_app_wide_form_key(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(IDEMPOTENCY_STORE=MemoryStore(), IDEMPOTENCY_KEY=keys.from_form("token"))
    Idempotency(app)
    with app.app_context():
        named = render_template_string("{{ idempotency_key_input() }}")
        quoted = render_template_string("""{{ idempotency_key_input('a"b<') }}""")
    assert re.fullmatch(r'<input type="hidden" name="token" value="[0-9a-f-]{36}">', named)
    assert quoted.startswith('<input type="hidden" name="a&#34;b&lt;" value="')


def test_a_form_post_with_the_header_is_keyed_by_the_header(shop: Flask) -> None:
    client = shop.test_client()
    header = {"Idempotency-Key": str(uuid.uuid4())}
    first = client.post("/checkout", data={**ORDER, "idempotency_key": "a"}, headers=header)
    second = client.post("/checkout", data={**ORDER, "idempotency_key": "b"}, headers=header)
    assert first.status_code == 200
    # Another body under the same header key: the header is the key, and the body differs.
    assert second.status_code == 422
    assert charges(shop).count() == 1
