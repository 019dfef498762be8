"""The servers the demo plays against: each example app on 127.0.0.1, with its records
and orders in SQLite files of ``directory``, the payment taking ``payment`` seconds and
duplicates of a running request held for its answer (``in_flight="wait"``).

Each is a context manager yielding the base URL. The framework is imported inside, so the
demo needs only the one it plays against.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

__all__ = ["SERVERS", "serve_django", "serve_fastapi", "serve_flask"]


class _Serving(Protocol):
    def serve_forever(self) -> None: ...

    def shutdown(self) -> None: ...

    def server_close(self) -> None: ...


@contextmanager
def _in_thread(server: _Serving, port: int) -> Iterator[str]:
    """Run a threaded WSGI server until the block ends; yield its base URL."""
    thread = threading.Thread(target=server.serve_forever, name="server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextmanager
def serve_fastapi(directory: Path, *, payment: float, wait_timeout: float) -> Iterator[str]:
    """The FastAPI orders API and webhook receiver, under uvicorn."""
    import uvicorn
    from starlette.types import ASGIApp, Receive, Scope, Send

    from idempotency_middleware.stores import SQLAlchemyStore
    from integrations.fastapi_app import create_app, create_webhook_app

    store = SQLAlchemyStore(f"sqlite:///{directory / 'idempotency.db'}")
    orders_url = f"sqlite:///{directory / 'shop.db'}"
    orders = create_app(
        store, orders_url=orders_url, delay=payment, in_flight="wait", wait_timeout=wait_timeout
    )
    webhooks = create_webhook_app(store, orders_url=orders_url)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        # Both apps behind one port, each with its own middleware: orders keyed by
        # Idempotency-Key, deliveries by X-Delivery-Id.
        webhook = scope["type"] == "http" and scope["path"].startswith("/webhooks/")
        target: ASGIApp = webhooks if webhook else orders
        await target(scope, receive, send)

    listener = socket.socket()
    # Bound here, on a port the system picks, so no other process can take it first.
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))

    async def serve() -> None:
        try:
            await server.serve(sockets=[listener])
        finally:
            # The store's async connections belong to this thread's event loop.
            await store.aclose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()
        store.close()


@contextmanager
def serve_django(directory: Path, *, payment: float, wait_timeout: float) -> Iterator[str]:
    """The example Django project with the database store, under the threaded server of
    ``manage.py runserver``."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="integrations.django_project.settings",
        DJANGO_PROJECT_DATABASE=f"sqlite:///{directory / 'shop.sqlite3'}",
        DJANGO_PROJECT_STORE="database",
        DJANGO_PROJECT_ORDER_DELAY=str(payment),
    )
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.test.utils import override_settings

    application = get_wsgi_application()
    call_command("migrate", verbosity=0)

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """No access log: the demo prints its own report."""

    server = ThreadedWSGIServer(("127.0.0.1", 0), QuietHandler)
    server.set_app(application)
    with (
        override_settings(IDEMPOTENCY_IN_FLIGHT="wait", IDEMPOTENCY_WAIT_TIMEOUT=wait_timeout),
        _in_thread(server, server.server_address[1]) as base_url,
    ):
        yield base_url


@contextmanager
def serve_flask(directory: Path, *, payment: float, wait_timeout: float) -> Iterator[str]:
    """The example Flask shop with its default SQL store, under the threaded server of
    ``flask run``."""
    from werkzeug.serving import make_server

    from integrations.flask_app import create_app, idempotency

    app = create_app(
        orders_url=f"sqlite:///{directory / 'shop.db'}",
        delay=payment,
        IDEMPOTENCY_DATABASE_URI=f"sqlite:///{directory / 'idempotency.db'}",
        IDEMPOTENCY_IN_FLIGHT="wait",
        IDEMPOTENCY_WAIT_TIMEOUT=wait_timeout,
    )
    # No access log: the demo prints its own report.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    try:
        with _in_thread(server, server.server_port) as base_url:
            yield base_url
    finally:
        idempotency.close(app)


SERVERS: dict[str, Callable[..., Any]] = {
    "fastapi": serve_fastapi,
    "django": serve_django,
    "flask": serve_flask,
}
"""The demo's servers by ``--framework``."""
