"""Production settings from the environment: a shared store and a secret for lookup keys."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """``IDEMPOTENCY_STORE_URL`` names the store, ``IDEMPOTENCY_SECRET`` keys its HMAC."""
    # [start:middleware]
    import os

    from fastapi import FastAPI

    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.stores import from_url

    app = FastAPI()
    app.add_middleware(
        IdempotencyMiddleware,
        store=from_url(os.environ["IDEMPOTENCY_STORE_URL"]),
        # The same value on every worker and machine; keep it out of the repository.
        secret=os.environ["IDEMPOTENCY_SECRET"],
    )
    # [end:middleware]
    return app
