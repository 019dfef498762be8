"""Receiving signed webhooks: the signature is verified before the delivery id is looked
up, so a forged request never gets the stored answer of a genuine delivery."""

from __future__ import annotations

import svix
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware import presets
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp
from idempotency_middleware.keys import InvalidKeyError, KeySource, from_headers
from idempotency_middleware.request import Request as NeutralRequest
from idempotency_middleware.stores import Store

__all__ = ["create_app", "verified_delivery_id"]


def verified_delivery_id(secret: str) -> KeySource:
    """The delivery id of a request whose signature verifies; a forged request is
    answered 400 before its id is looked up."""
    verifier = svix.Webhook(secret)  # reads svix-* and webhook-* headers alike
    delivery_id = from_headers("webhook-id", "svix-id")

    def key(request: NeutralRequest) -> str | None:
        try:
            verifier.verify(request.body, dict(request.headers))
        except svix.webhooks.WebhookVerificationError as exc:
            raise InvalidKeyError(f"The webhook signature does not verify: {exc}.") from exc
        return delivery_id(request)

    return key


async def receive(request: Request) -> JSONResponse:
    deliveries: list[bytes] = request.app.state.deliveries
    deliveries.append(await request.body())
    return JSONResponse({"received": len(deliveries)})


def create_app(store: Store, secret: str) -> ASGIApp:
    """A Standard Webhooks (and Svix) receiver whose deliveries are signed with ``secret``."""
    app = Starlette(routes=[Route("/webhooks", receive, methods=["POST"])])
    app.state.deliveries = []
    options = presets.standard_webhooks("/webhooks")
    options["key"] = verified_delivery_id(secret)
    return IdempotencyMiddleware(app, store=store, **options)
