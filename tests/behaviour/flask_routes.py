"""The routes of :mod:`tests.behaviour.handlers` for Flask, as a blueprint for the
example shop, marked with the shop's own :class:`Idempotency`."""

from __future__ import annotations

from flask import Blueprint, Response, request

from integrations.flask_app import idempotency
from tests.behaviour import handlers
from tests.behaviour.handlers import Runs

__all__ = ["blueprint"]

EVERY = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def blueprint(runs: Runs) -> Blueprint:
    routes = Blueprint("behaviour", __name__)

    def echo() -> Response:
        run = runs.start(request.path.strip("/"))
        response = Response(
            handlers.echo_json(run, request.method, request.get_data()),
            status=handlers.echo_status(request.method),
            mimetype="application/json",
        )
        response.headers["Location"] = f"/things/{run}"
        response.headers.add("X-Custom", "first")
        response.headers.add("X-Custom", "second")
        response.headers["Date"] = handlers.date(run)
        response.set_cookie("session", f"secret-{run}")
        return response

    routes.add_url_rule("/echo", "echo", echo, methods=EVERY)
    routes.add_url_rule("/other", "other", echo, methods=EVERY)

    @routes.post("/required")
    @idempotency.required
    def required() -> Response:
        return echo()

    @routes.post("/exempt")
    @idempotency.exempt
    def exempt() -> Response:
        return echo()

    @routes.post("/status/<int:code>")
    def status(code: int) -> Response:
        return Response(f"run {runs.start('status')}", status=code)

    @routes.post("/raise")
    def raise_first() -> Response:
        run = runs.start("raise")
        if run == 1:
            raise RuntimeError("the first run fails")
        return Response(f"run {run}", status=201)

    @routes.post("/slow")
    def slow() -> Response:
        run = runs.start("slow")
        runs.entered.set()
        runs.opened.wait(handlers.SLOW_TIMEOUT)
        return Response(handlers.slow_body(run), status=handlers.first_status(run, request.args))

    @routes.post("/stream")
    def stream() -> Response:
        runs.start("stream")
        return Response(iter(handlers.chunks(request.args)), mimetype="text/plain")

    @routes.post("/empty")
    def empty() -> Response:
        runs.start("empty")
        return Response(status=204)

    return routes
