"""FastAPI's schema, and so ``/docs``, with the key header and the middleware's answers."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """An orders API whose OpenAPI schema documents the middleware."""
    # [start:openapi]
    from fastapi import FastAPI

    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.asgi.openapi import install_openapi
    from idempotency_middleware.stores import MemoryStore

    app = FastAPI(title="Orders")
    app.add_middleware(IdempotencyMiddleware, store=MemoryStore(), required=["/orders"])
    install_openapi(app)

    @app.post("/orders", status_code=201)
    async def place_order(order: dict[str, int]) -> dict[str, int]:
        return order

    # [end:openapi]
    return app
