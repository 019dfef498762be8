"""Starlette, and any other ASGI app: the middleware list, or a plain wrapper.

Each block the quick start shows runs pasted alone into an empty file; the SQLite file
lands in the working directory.
"""

from __future__ import annotations

from starlette.applications import Starlette

from idempotency_middleware.asgi.types import ASGIApp

__all__ = ["create_app", "wrap"]


def create_app() -> Starlette:
    """An orders API whose POSTs run once per ``Idempotency-Key``; ``app.state.store``
    is its store, for the caller to close."""
    # [start:setup]
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.stores import SQLAlchemyStore

    async def place_order(request: Request) -> JSONResponse:
        request.app.state.placed = getattr(request.app.state, "placed", 0) + 1
        return JSONResponse({"id": request.app.state.placed, **await request.json()}, 201)

    store = SQLAlchemyStore("sqlite:///idempotency.db")
    app = Starlette(
        routes=[Route("/orders", place_order, methods=["POST"])],
        middleware=[Middleware(IdempotencyMiddleware, store=store)],
    )
    # [end:setup]
    app.state.store = store
    return app


def wrap() -> ASGIApp:
    """An ASGI application with no framework, behind the middleware."""
    # [start:wrap]
    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.asgi.types import Receive, Scope, Send
    from idempotency_middleware.stores import SQLAlchemyStore

    async def place_order(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"placed"})

    app = IdempotencyMiddleware(place_order, store=SQLAlchemyStore("sqlite:///idempotency.db"))
    # [end:wrap]
    return app
