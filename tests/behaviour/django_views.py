"""The routes of :mod:`tests.behaviour.handlers` as Django views, next to the example
project's URLs (:data:`urlpatterns`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.decorators.csrf import csrf_exempt

from idempotency_middleware.django import idempotency_exempt, idempotency_required
from tests.behaviour import handlers
from tests.behaviour.handlers import Runs

__all__ = ["runs", "urlpatterns"]

runs = Runs()
"""The runs of these views; the Django client resets it."""


def _echo(request: HttpRequest) -> HttpResponse:
    run = runs.start(request.path.strip("/"))
    method = request.method or "GET"
    response = HttpResponse(
        handlers.echo_json(run, method, request.body),
        status=handlers.echo_status(method),
        content_type="application/json",
        # A Django response holds one line per header name.
        headers={"Location": f"/things/{run}", "X-Custom": "first", "Date": handlers.date(run)},
    )
    response.set_cookie("session", f"secret-{run}")
    return response


echo = csrf_exempt(_echo)
required = csrf_exempt(idempotency_required(_echo))
exempt = csrf_exempt(idempotency_exempt(_echo))


@csrf_exempt
def status(request: HttpRequest, code: int) -> HttpResponse:
    return HttpResponse(f"run {runs.start('status')}", status=code)


@csrf_exempt
def raise_first(request: HttpRequest) -> HttpResponse:
    run = runs.start("raise")
    if run == 1:
        raise RuntimeError("the first run fails")
    return HttpResponse(f"run {run}", status=201)


@csrf_exempt
async def slow(request: HttpRequest) -> HttpResponse:
    # Async, so that under ASGI it holds no thread that Django's other sync code needs.
    run = runs.start("slow")
    runs.entered.set()
    await asyncio.to_thread(runs.opened.wait, handlers.SLOW_TIMEOUT)
    return HttpResponse(handlers.slow_body(run), status=handlers.first_status(run, request.GET))


@csrf_exempt
def stream(request: HttpRequest) -> StreamingHttpResponse:
    runs.start("stream")
    body = handlers.chunks(request.GET)
    # Django warns when it must turn one kind of iterator into the other.
    if isinstance(request, ASGIRequest):

        async def produce() -> AsyncIterator[bytes]:
            for chunk in body:
                yield chunk

        return StreamingHttpResponse(produce(), content_type="text/plain")

    def produce_sync() -> Iterator[bytes]:
        yield from body

    return StreamingHttpResponse(produce_sync(), content_type="text/plain")


@csrf_exempt
def empty(request: HttpRequest) -> HttpResponse:
    runs.start("empty")
    return HttpResponse(status=204)


urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("integrations.django_project.urls")),
    path("echo", echo),
    path("other", echo),
    path("required", required),
    path("exempt", exempt),
    path("status/<int:code>", status),
    path("raise", raise_first),
    path("slow", slow),
    path("stream", stream),
    path("empty", empty),
]
