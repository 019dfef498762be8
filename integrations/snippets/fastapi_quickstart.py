"""FastAPI: one ``add_middleware`` line; the store is the one choice to make.

The lines the quick start shows are a whole ``main.py`` up to its first route, imports
included; the SQLite file lands in the working directory.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """An orders API whose POSTs run once per ``Idempotency-Key``; ``app.state.store``
    is its store, for the caller to close."""
    # [start:setup]
    from fastapi import FastAPI

    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.stores import SQLAlchemyStore

    store = SQLAlchemyStore("sqlite:///idempotency.db")
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=store)
    # [end:setup]
    app.state.store = store

    @app.post("/orders", status_code=201)
    async def place_order(order: dict[str, Any]) -> JSONResponse:
        app.state.placed = getattr(app.state, "placed", 0) + 1
        number = app.state.placed
        return JSONResponse({"id": number, **order}, 201, {"Location": f"/orders/{number}"})

    return app
