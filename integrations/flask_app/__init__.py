"""The example Flask app: an orders API, the form service's webhook receiver and a
server-rendered checkout form.

Every executed request places a row (see :mod:`integrations.orders`): ``POST /orders``
and ``POST /webhooks/forms`` in the orders table, ``POST /checkout`` in the charges
table, so a test or the demo counts how many times a handler really ran.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template_string, request

from idempotency_middleware.flask import Idempotency
from idempotency_middleware.stores import Store
from integrations.orders import OrderBook, order_json, parse_order
from integrations.webhooks import DELIVERY_HEADER, webhook_options

__all__ = ["create_app", "idempotency", "shop"]

idempotency = Idempotency()
shop = Blueprint("shop", __name__)

CHECKOUT_PAGE = """<!doctype html>
<title>Checkout</title>
<form method="post" action="/checkout">
  {{ idempotency_key_input() }}
  <input name="item" value="annual plan">
  <input name="amount" value="19900">
  <button type="submit">Pay</button>
</form>
"""

CONFIRMATION_PAGE = """<!doctype html>
<title>Thank you</title>
<p>Charge #{{ charge.id }}: {{ charge.item }}, {{ "%.2f"|format(charge.amount / 100) }}.</p>
"""


@dataclass(frozen=True)
class _Books:
    orders: OrderBook
    charges: OrderBook
    delay: float


def _books() -> _Books:
    books: _Books = current_app.extensions["orders"]
    return books


@shop.post("/orders")
def place_order() -> tuple[Response, int, dict[str, str]] | tuple[Response, int]:
    """Place the order the JSON body describes."""
    try:
        item, amount = parse_order(request.get_json(silent=True))
    except ValueError as error:
        return jsonify(detail=str(error)), 422
    books = _books()
    placed = books.orders.place(item, amount, request.headers.get("Idempotency-Key"))
    # The payment provider is slow: the order is committed but not yet answered, the
    # window in which clients time out and retry.
    time.sleep(books.delay)
    return jsonify(order_json(placed)), 201, {"Location": f"/orders/{placed.id}"}


@shop.post("/webhooks/forms")
@idempotency.protect(**webhook_options({}))
def receive_form() -> tuple[Response, int]:
    """The form service's order-form webhook, keyed by its delivery id: one order per
    delivery, however often it is sent."""
    try:
        item, amount = parse_order(request.get_json(silent=True))
    except ValueError as error:
        return jsonify(detail=str(error)), 422
    books = _books()
    placed = books.orders.place(item, amount, request.headers.get(DELIVERY_HEADER))
    time.sleep(books.delay)
    return jsonify(order=order_json(placed)), 200


@shop.get("/orders/count")
def count_orders() -> Response:
    """How many orders exist, or how many the requests carrying ``?key=`` placed."""
    return jsonify(count=_books().orders.count(request.args.get("key")))


@shop.get("/checkout")
def checkout_form() -> str:
    """The checkout page; each rendering carries a fresh idempotency key."""
    return render_template_string(CHECKOUT_PAGE)


@shop.post("/checkout")
def checkout() -> str | tuple[str, int]:
    """Charge the form's amount once, however often the button is clicked: the form
    carries the hidden key, which the extension reads with no setting, and the
    duplicates wait for the first click's answer (a 409 would be an error page)."""
    try:
        item, amount = parse_order(
            {"item": request.form.get("item"), "amount": int(request.form.get("amount", ""))}
        )
    except ValueError as error:
        return f"Invalid order: {error}", 422
    books = _books()
    charge = books.charges.place(item, amount, request.form.get("idempotency_key"))
    time.sleep(books.delay)
    return render_template_string(CONFIRMATION_PAGE, charge=charge)


def create_app(
    store: Store | None = None, *, orders_url: str, delay: float = 0.0, **config: Any
) -> Flask:
    """The shop; ``delay`` seconds of slow payment follow each order and charge.

    ``config`` is Flask config: ``IDEMPOTENCY_*`` keys, and ``ORDERS_TABLE`` and
    ``CHARGES_TABLE`` for the tables of ``orders_url`` the rows go to. Without
    ``store`` the extension's default SQL store is used.
    """
    app = Flask(__name__)
    app.config.from_mapping(ORDERS_TABLE="orders", CHARGES_TABLE="charges")
    if store is not None:
        app.config["IDEMPOTENCY_STORE"] = store
    app.config.from_mapping(config)
    books = _Books(
        OrderBook(orders_url, table=app.config["ORDERS_TABLE"]),
        OrderBook(orders_url, table=app.config["CHARGES_TABLE"]),
        delay,
    )
    books.orders.create()
    books.charges.create()
    app.extensions["orders"] = books
    app.register_blueprint(shop)
    idempotency.init_app(app)
    return app
