"""Where the middleware goes in a stack: after authentication, before rate limiting."""

from __future__ import annotations

# [start:stack]
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp, Receive, Scope, Send
from idempotency_middleware.stores import Store


class TokenAuthentication(AuthenticationBackend):
    """``Authorization: Bearer <name>`` logs in the user ``<name>`` (an example only)."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        scheme, _, token = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(token)


class RateLimit:
    """At most ``limit`` requests per user that reach the app; then 429."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.counts: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            user = scope["user"].display_name
            self.counts[user] = self.counts.get(user, 0) + 1
            if self.counts[user] > self.limit:
                await JSONResponse({"detail": "slow down"}, 429)(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def place_order(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.user.display_name, **await request.json()}, 201)


def create_app(store: Store, *, limit: int = 100) -> Starlette:
    """An orders API with authentication, idempotency and a rate limit, in that order."""
    middleware = [
        Middleware(AuthenticationMiddleware, backend=TokenAuthentication()),
        # Sees scope["user"], so each user's keys are their own; answers a retry
        # before the rate limiter counts it.
        Middleware(IdempotencyMiddleware, store=store),
        Middleware(RateLimit, limit=limit),
    ]
    return Starlette(
        routes=[Route("/orders", place_order, methods=["POST"])], middleware=middleware
    )


# [end:stack]

__all__ = ["RateLimit", "TokenAuthentication", "create_app"]
