"""Any WSGI application, with no framework: wrap it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from idempotency_middleware.stores import Store
from idempotency_middleware.wsgi import IdempotencyMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["create_app"]


def create_app(store: Store) -> WSGIApplication:
    """A WSGI app that counts the POSTs it runs, behind the middleware."""
    runs = 0

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        nonlocal runs
        runs += 1
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [f"run {runs}".encode()]

    # [start:wrap]
    application = IdempotencyMiddleware(app, store=store)
    # [end:wrap]
    return application
