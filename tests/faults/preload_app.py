"""An app whose store is built, and used, before the server forks its workers:
``gunicorn --preload "tests.faults.preload_app:wsgi()"`` (or ``asgi()`` under a uvicorn
worker). Its handler answers who called and with which key, so a response that reaches
the wrong caller shows. The configuration travels as JSON in one environment variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any, TypedDict, cast

from idempotency_middleware.asgi import IdempotencyMiddleware as AsgiMiddleware
from idempotency_middleware.asgi.types import Receive, Scope, Send
from idempotency_middleware.stores import from_url
from idempotency_middleware.stores.base import Store
from idempotency_middleware.wsgi import IdempotencyMiddleware as WsgiMiddleware
from tests.support.configs import config_environment, config_of

__all__ = ["PreloadConfig", "asgi", "environment", "wsgi"]

_VARIABLE = "IDEMPOTENCY_TEST_PRELOAD_APP"
_STARTUP_KEY = "0" * 64


class PreloadConfig(TypedDict):
    """``store_options`` go to the store."""

    store_url: str
    store_options: dict[str, Any]


def environment(config: PreloadConfig) -> dict[str, str]:
    """The environment variables that hand ``config`` to the factories."""
    return config_environment(_VARIABLE, config)


def _store() -> Store:
    config = cast(PreloadConfig, config_of(_VARIABLE))
    store = from_url(config["store_url"], **config["store_options"])
    # What a start-up health check does: the store has a live connection when the
    # server forks.
    store.get(_STARTUP_KEY)
    return store


def _answer(authorization: str | None, key: str | None) -> bytes:
    return json.dumps({"caller": authorization, "key": key, "pid": os.getpid()}).encode()


def wsgi() -> WsgiMiddleware:
    def created(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = _answer(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_IDEMPOTENCY_KEY"))
        start_response("201 Created", [("Content-Type", "application/json")])
        return [body]

    return WsgiMiddleware(created, store=_store())


def asgi() -> AsgiMiddleware:
    async def created(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {name.decode(): value.decode() for name, value in scope["headers"]}
        body = _answer(headers.get("authorization"), headers.get("idempotency-key"))
        content_type = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 201, "headers": content_type})
        await send({"type": "http.response.body", "body": body})

    return AsgiMiddleware(created, store=_store())
