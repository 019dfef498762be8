"""Starlette, and any other ASGI app: the middleware list, or a plain wrapper."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp
from idempotency_middleware.stores import Store

__all__ = ["create_app", "wrap"]


async def place_order(request: Request) -> JSONResponse:
    request.app.state.placed = getattr(request.app.state, "placed", 0) + 1
    return JSONResponse({"id": request.app.state.placed, **await request.json()}, 201)


def create_app(store: Store) -> Starlette:
    """An orders API whose POSTs run once per ``Idempotency-Key``."""
    # [start:setup]
    app = Starlette(
        routes=[Route("/orders", place_order, methods=["POST"])],
        middleware=[Middleware(IdempotencyMiddleware, store=store)],
    )
    # [end:setup]
    return app


def wrap(app: ASGIApp, store: Store) -> ASGIApp:
    """Any ASGI application behind the middleware."""
    # [start:wrap]
    app = IdempotencyMiddleware(app, store=store)
    # [end:wrap]
    return app
