"""The middleware's own answers in an application's error shape: a callable
``error_format``, with the schema the OpenAPI installer documents for it."""

from __future__ import annotations

from fastapi import FastAPI

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """An orders API whose key errors look like its other errors."""
    # [start:error-shape]
    import json

    from fastapi import FastAPI

    from idempotency_middleware import ErrorShape, MemoryStore, Problem
    from idempotency_middleware.asgi import IdempotencyMiddleware
    from idempotency_middleware.asgi.openapi import install_openapi

    def shop_error(problem: Problem) -> tuple[int, dict[str, str], bytes]:
        body = {
            "error": problem.type.slug,
            "message": problem.detail,
            "retryable": problem.type.retryable,
        }
        headers = {"content-type": "application/json"}
        return problem.type.status, headers, json.dumps(body).encode()

    shape = ErrorShape(
        shop_error,
        schema={
            "type": "object",
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "retryable": {"type": "boolean"},
            },
            "required": ["error", "message", "retryable"],
        },
    )
    app = FastAPI(title="Orders")
    app.add_middleware(
        IdempotencyMiddleware, store=MemoryStore(), required=["/orders"], error_format=shape
    )
    install_openapi(app)

    @app.post("/orders", status_code=201)
    async def place_order(order: dict[str, int]) -> dict[str, int]:
        return order

    # [end:error-shape]
    return app
