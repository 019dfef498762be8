"""Pure ASGI middleware for Starlette, FastAPI and any other ASGI app."""

from idempotency_middleware.asgi.middleware import IdempotencyMiddleware

__all__ = ["IdempotencyMiddleware"]
