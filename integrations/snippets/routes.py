"""Options per path template: webhooks kept three days, checkouts waited for."""

from __future__ import annotations

# [start:routes]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import Store


async def receive_delivery(request: Request) -> JSONResponse:
    return JSONResponse({"received": request.headers["X-GitHub-Delivery"]}, 202)


async def check_out(request: Request) -> JSONResponse:
    return JSONResponse({"cart": request.path_params["cart"]}, 201)


def create_app(store: Store) -> IdempotencyMiddleware:
    """A shop whose webhook and checkout routes need other settings than the rest."""
    app = Starlette(
        routes=[
            Route("/webhooks/github", receive_delivery, methods=["POST"]),
            Route("/checkout/{cart}", check_out, methods=["POST"]),
        ]
    )
    return IdempotencyMiddleware(
        app,
        store=store,
        routes={
            "/webhooks/github": {"header": "X-GitHub-Delivery", "ttl": 259_200},
            "/checkout/{cart}": {"in_flight": "wait", "lease": 120},
        },
    )


# [end:routes]

__all__ = ["create_app"]
