"""WSGI middleware for any WSGI app; no web framework is imported."""

from idempotency_middleware.wsgi.middleware import IdempotencyMiddleware, protect, remote_user

__all__ = ["IdempotencyMiddleware", "protect", "remote_user"]
