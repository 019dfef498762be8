"""Receiving webhooks: each provider's delivery id is the key, through a preset."""

from __future__ import annotations

# [start:presets]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware import presets
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp
from idempotency_middleware.stores import Store


async def receive(request: Request) -> JSONResponse:
    deliveries: list[bytes] = request.app.state.deliveries
    deliveries.append(await request.body())
    return JSONResponse({"received": len(deliveries)})


def create_app(store: Store) -> ASGIApp:
    """Receivers for GitHub and Stripe, each protected by its preset."""
    app = Starlette(
        routes=[
            Route("/webhooks/github", receive, methods=["POST"]),
            Route("/webhooks/stripe", receive, methods=["POST"]),
        ]
    )
    app.state.deliveries = []
    github = presets.github("/webhooks/github")
    stripe = presets.stripe("/webhooks/stripe")
    protected = IdempotencyMiddleware(app, store=store, **github)
    protected = IdempotencyMiddleware(protected, store=store, **stripe)
    return protected


# [end:presets]

__all__ = ["create_app"]
