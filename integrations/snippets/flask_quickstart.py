"""Flask: ``Idempotency(app)``; the records go to a SQL table of the app's database."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request

__all__ = ["create_app"]


def create_app() -> Flask:
    """An orders API; ``FLASK_IDEMPOTENCY_DATABASE_URI`` in the environment names the
    database of the records (a SQLite file in the instance folder when unset)."""
    # [start:setup]
    from flask import Flask

    from idempotency_middleware.flask import Idempotency

    app = Flask(__name__)
    app.config.from_prefixed_env()
    Idempotency(app)
    # [end:setup]
    placed: list[dict[str, Any]] = []

    @app.post("/orders")
    def place_order() -> tuple[Any, int]:
        placed.append({"id": len(placed) + 1, **(request.get_json() or {})})
        return jsonify(placed[-1]), 201

    return app
