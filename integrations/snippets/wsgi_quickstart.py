"""Any WSGI application, with no framework: wrap it.

The block the quick start shows runs pasted alone into an empty file; the SQLite file
lands in the working directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["create_app"]


def create_app() -> WSGIApplication:
    """A WSGI app that counts the POSTs it runs, behind the middleware."""
    # [start:wrap]
    from collections.abc import Callable
    from itertools import count
    from typing import Any

    from idempotency_middleware.stores import SQLAlchemyStore
    from idempotency_middleware.wsgi import IdempotencyMiddleware

    runs = count(1)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [f"run {next(runs)}".encode()]

    application = IdempotencyMiddleware(app, store=SQLAlchemyStore("sqlite:///idempotency.db"))
    # [end:wrap]
    return application
