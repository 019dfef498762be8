"""FastAPI: one ``add_middleware`` line; the store is the one choice to make."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from idempotency_middleware.stores import Store

__all__ = ["create_app"]


def create_app(store: Store) -> FastAPI:
    """An orders API whose POSTs run once per ``Idempotency-Key``."""
    # [start:setup]
    from idempotency_middleware.asgi import IdempotencyMiddleware

    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware, store=store)
    # [end:setup]

    @app.post("/orders", status_code=201)
    async def place_order(order: dict[str, Any]) -> JSONResponse:
        app.state.placed = getattr(app.state, "placed", 0) + 1
        number = app.state.placed
        return JSONResponse({"id": number, **order}, 201, {"Location": f"/orders/{number}"})

    return app
