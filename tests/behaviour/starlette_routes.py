"""The routes of :mod:`tests.behaviour.handlers` for Starlette and FastAPI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.behaviour import handlers
from tests.behaviour.handlers import Runs

__all__ = ["PATHS", "routes"]

EVERY = ["GET", "POST", "PUT", "PATCH", "DELETE"]

PATHS = {"required": ["/required"], "exclude": ["/exempt"]}
"""The middleware options that mark ``/required`` and ``/exempt``."""


def routes(runs: Runs) -> list[Route]:
    async def echo(request: Request) -> Response:
        run = runs.start(request.url.path.strip("/"))
        response = Response(
            handlers.echo_json(run, request.method, await request.body()),
            status_code=handlers.echo_status(request.method),
            media_type="application/json",
            headers={"Location": f"/things/{run}"},
        )
        response.headers.append("X-Custom", "first")
        response.headers.append("X-Custom", "second")
        response.headers.append("Date", handlers.date(run))
        response.set_cookie("session", f"secret-{run}")
        return response

    async def status(request: Request) -> Response:
        run = runs.start("status")
        return PlainTextResponse(f"run {run}", status_code=request.path_params["code"])

    async def raise_first(request: Request) -> Response:
        run = runs.start("raise")
        if run == 1:
            raise RuntimeError("the first run fails")
        return PlainTextResponse(f"run {run}", status_code=201)

    async def slow(request: Request) -> Response:
        run = runs.start("slow")
        runs.entered.set()
        await asyncio.to_thread(runs.opened.wait, handlers.SLOW_TIMEOUT)
        status = handlers.first_status(run, request.query_params)
        return Response(handlers.slow_body(run), status_code=status)

    async def stream(request: Request) -> Response:
        runs.start("stream")
        body = handlers.chunks(request.query_params)

        async def produce() -> AsyncIterator[bytes]:
            for chunk in body:
                yield chunk
                await asyncio.sleep(0)

        return StreamingResponse(produce(), media_type="text/plain")

    async def empty(request: Request) -> Response:
        runs.start("empty")
        return Response(status_code=204)

    return [
        Route("/echo", echo, methods=EVERY),
        Route("/other", echo, methods=EVERY),
        Route("/required", echo, methods=["POST"]),
        Route("/exempt", echo, methods=["POST"]),
        Route("/status/{code:int}", status, methods=["POST"]),
        Route("/raise", raise_first, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
        Route("/stream", stream, methods=["POST"]),
        Route("/empty", empty, methods=["POST"]),
    ]
