"""CORS in front of the middleware, so browsers can send keys and read every answer."""

from __future__ import annotations

# [start:middleware]
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import Store


async def place_order(request: Request) -> JSONResponse:
    return JSONResponse(await request.json(), 201)


def create_app(store: Store, origin: str) -> Starlette:
    """An orders API that the web page at ``origin`` calls from the browser."""
    middleware = [
        # First in the list is outermost: CORS headers reach the middleware's own
        # answers (409, 422, 503) too, which the browser could not read otherwise.
        Middleware(
            CORSMiddleware,
            allow_origins=[origin],
            allow_methods=["POST", "PATCH"],
            allow_headers=["Content-Type", "Idempotency-Key"],
            expose_headers=["Idempotent-Replayed", "Retry-After", "Location"],
        ),
        Middleware(IdempotencyMiddleware, store=store),
    ]
    return Starlette(
        routes=[Route("/orders", place_order, methods=["POST"])], middleware=middleware
    )


# [end:middleware]

__all__ = ["create_app"]
