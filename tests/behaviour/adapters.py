"""One builder per adapter: its test app on a given store, behind a :class:`Client`.

The apps are the example apps (``integrations/``) with the routes of
:mod:`tests.behaviour.handlers` added; the generic WSGI middleware, which has no
example app, wraps :mod:`tests.behaviour.wsgi_app`.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from idempotency_middleware.stores import Store
from integrations.orders import OrderBook
from tests.behaviour import starlette_routes
from tests.behaviour.client import Client, Send
from tests.behaviour.handlers import Runs
from tests.behaviour.transports import AsgiTransport, wsgi_transport

__all__ = ["BUILDERS", "Build"]

Build = Callable[[contextlib.ExitStack, Store, dict[str, Any], Path], Client]
"""``build(stack, store, options, directory)``: the app under ``options`` (the
middleware's keyword arguments), closed with ``stack``; files go to ``directory``."""


def _orders_url(directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{directory / 'orders.sqlite3'}"


def _with_paths(paths: dict[str, list[str]], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the path templates that mark ``/required`` and ``/exempt``."""
    return options | {
        name: [*templates, *options.get(name, ())] for name, templates in paths.items()
    }


def _secret(options: dict[str, Any]) -> bytes | None:
    secret = options.get("secret")
    return secret.encode() if isinstance(secret, str) else secret


def _starlette(module: str, adapter: str) -> Build:
    def build(
        stack: contextlib.ExitStack, store: Store, options: dict[str, Any], directory: Path
    ) -> Client:
        url = _orders_url(directory)
        create_app = importlib.import_module(module).create_app
        app = create_app(store, orders_url=url, **_with_paths(starlette_routes.PATHS, options))
        runs = Runs()
        app.router.routes.extend(starlette_routes.routes(runs))
        transport = AsgiTransport(app)
        stack.callback(transport.close, store.aclose)
        return Client(adapter, transport, runs, store, OrderBook(url).count, _secret(options))

    return build


def _flask(
    stack: contextlib.ExitStack, store: Store, options: dict[str, Any], directory: Path
) -> Client:
    from integrations.flask_app import create_app
    from tests.behaviour.flask_routes import blueprint

    url = _orders_url(directory)
    config = {f"IDEMPOTENCY_{name.upper()}": value for name, value in options.items()}
    app = create_app(store, orders_url=url, **config)
    runs = Runs()
    app.register_blueprint(blueprint(runs))
    return Client("flask", wsgi_transport(app), runs, store, OrderBook(url).count, _secret(options))


def _wsgi(
    stack: contextlib.ExitStack, store: Store, options: dict[str, Any], directory: Path
) -> Client:
    from idempotency_middleware.wsgi import IdempotencyMiddleware
    from tests.behaviour.wsgi_app import PATHS, wsgi_app

    book = OrderBook(_orders_url(directory))
    book.create()
    runs = Runs()
    app = IdempotencyMiddleware(wsgi_app(runs, book), store=store, **_with_paths(PATHS, options))
    return Client("wsgi", wsgi_transport(app), runs, store, book.count, _secret(options))


def _django(asynchronous: bool) -> Build:
    def build(
        stack: contextlib.ExitStack, store: Store, options: dict[str, Any], directory: Path
    ) -> Client:
        # The Django tests configure Django once per process from the example project's
        # settings; this suite runs the same project.
        importlib.import_module("tests.django.conftest")
        from django.conf import settings
        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import override_settings

        from idempotency_middleware.django.conf import setting_name
        from integrations.django_project.orders.models import Order
        from tests.behaviour import django_views

        _create_table(Order)
        stack.callback(Order.objects.all().delete)
        overrides = {setting_name(name): value for name, value in options.items()}
        stack.enter_context(
            override_settings(
                ROOT_URLCONF="tests.behaviour.django_views", IDEMPOTENCY_STORE=store, **overrides
            )
        )
        django_views.runs.reset()

        def orders(key: str) -> int:
            return Order.objects.filter(request_key=key).count()

        send: Send
        if asynchronous:
            transport = AsgiTransport(ASGIHandler())
            stack.callback(transport.close, store.aclose)
            send = transport
        else:
            send = wsgi_transport(WSGIHandler())
        adapter = "django-async" if asynchronous else "django-sync"
        secret = _secret({"secret": options.get("secret", settings.SECRET_KEY)})
        return Client(adapter, send, django_views.runs, store, orders, secret)

    return build


def _create_table(model: Any) -> None:
    """Create the table of ``model`` in the database in use, unless it is there: the
    Django tests' own test database is migrated, the process's first one is not."""
    from django.db import connection

    if model._meta.db_table not in connection.introspection.table_names():
        with connection.schema_editor() as editor:
            editor.create_model(model)


BUILDERS: dict[str, Build] = {
    "fastapi": _starlette("integrations.fastapi_app", "fastapi"),
    "starlette": _starlette("integrations.starlette_app", "starlette"),
    "django-sync": _django(asynchronous=False),
    "django-async": _django(asynchronous=True),
    "flask": _flask,
    "wsgi": _wsgi,
}
