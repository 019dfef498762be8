"""The routes of :mod:`tests.behaviour.handlers` and ``POST /orders`` as a plain WSGI
app, for the generic WSGI middleware, which has no example app of its own."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from integrations.orders import OrderBook, order_json, parse_order
from tests.behaviour import handlers
from tests.behaviour.handlers import Runs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["PATHS", "wsgi_app"]

PATHS = {"required": ["/required"], "exclude": ["/exempt"]}
"""The middleware options that mark ``/required`` and ``/exempt``."""

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 422: "Unprocessable Content"}


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Status')}"


def wsgi_app(runs: Runs, book: OrderBook) -> WSGIApplication:
    def app(env: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = env["PATH_INFO"]
        method = env["REQUEST_METHOD"]
        query = dict(parse_qsl(env.get("QUERY_STRING", "")))
        body = env["wsgi.input"].read()
        if path == "/orders":
            return orders(env, start_response, body)
        if path in ("/echo", "/other", "/required", "/exempt"):
            run = runs.start(path.strip("/"))
            answer = handlers.echo_json(run, method, body)
            start_response(
                _status(handlers.echo_status(method)),
                [
                    ("Content-Type", "application/json"),
                    ("Location", f"/things/{run}"),
                    ("X-Custom", "first"),
                    ("Set-Cookie", f"session=secret-{run}"),
                    ("X-Custom", "second"),
                    ("Date", handlers.date(run)),
                    ("Content-Length", str(len(answer))),
                ],
            )
            return [answer]
        if path.startswith("/status/"):
            start_response(_status(int(path.rsplit("/", 1)[1])), [])
            return [f"run {runs.start('status')}".encode()]
        if path == "/raise":
            run = runs.start("raise")
            if run == 1:
                raise RuntimeError("the first run fails")
            start_response(_status(201), [])
            return [f"run {run}".encode()]
        if path == "/slow":
            run = runs.start("slow")
            runs.entered.set()
            runs.opened.wait(handlers.SLOW_TIMEOUT)
            start_response(_status(handlers.first_status(run, query)), [])
            return [handlers.slow_body(run)]
        if path == "/stream":
            runs.start("stream")
            start_response(_status(200), [("Content-Type", "text/plain")])
            return _stream(handlers.chunks(query))
        if path == "/empty":
            runs.start("empty")
            start_response(_status(204), [])
            return []
        start_response("404 Not Found", [])
        return [b""]

    def orders(env: WSGIEnvironment, start_response: StartResponse, body: bytes) -> list[bytes]:
        try:
            item, amount = parse_order(json.loads(body))
        except ValueError as error:
            start_response(_status(422), [("Content-Type", "application/json")])
            return [json.dumps({"detail": str(error)}).encode()]
        placed = book.place(item, amount, env.get("HTTP_IDEMPOTENCY_KEY"))
        answer: dict[str, Any] = order_json(placed)
        start_response(
            _status(201),
            [("Content-Type", "application/json"), ("Location", f"/orders/{placed.id}")],
        )
        return [json.dumps(answer).encode()]

    return app


def _stream(chunks: list[bytes]) -> Iterator[bytes]:
    yield from chunks
