"""The benchmark's orders API as a Flask app, bare or behind our extension."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from benchmarks.app import Calls
from idempotency_middleware.stores import Store

__all__ = ["create_flask_app"]


def create_flask_app(store: Store | None) -> tuple[Flask, Calls]:
    """The app; with ``store``, behind ``idempotency_middleware.flask.Idempotency``."""
    app = Flask(__name__)
    calls = Calls()

    @app.post("/orders")
    def place_order() -> ResponseReturnValue:
        order: dict[str, Any] = request.get_json()
        calls.placed += 1
        body = {"id": calls.placed, "item": order["item"], "amount": order["amount"]}
        return jsonify(body), 201, {"Location": f"/orders/{calls.placed}"}

    @app.get("/orders/<int:order_id>")
    def get_order(order_id: int) -> ResponseReturnValue:
        calls.read += 1
        return jsonify(id=order_id, item="book", amount=1250)

    if store is not None:
        from idempotency_middleware.flask import Idempotency

        app.config["IDEMPOTENCY_STORE"] = store
        Idempotency(app)
    return app, calls
