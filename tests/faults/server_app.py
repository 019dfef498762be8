"""Apps for ``uvicorn --factory`` that write down each run of their handlers, for tests
that kill worker processes, restart the store or leave mid-stream under a real server,
and for the retrying clients (``/v1/customers`` answers as Stripe's API does).

Every worker appends ``<key> <pid>`` to one runs file per handler run: appends of a
short line with ``O_APPEND`` do not interleave, so the file counts the runs of every
worker. The configuration travels as JSON in one environment variable.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypedDict, cast
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import from_url
from tests.support.configs import config_environment, config_of

__all__ = ["RunsConfig", "counted_app", "counted_fastapi_app", "environment", "runs"]

_VARIABLE = "IDEMPOTENCY_TEST_RUNS_APP"


class RunsConfig(TypedDict):
    """``store_options`` go to the store, ``options`` to the middleware; the handler
    sleeps ``delay`` seconds after writing its run, or as many as its ``X-Delay`` header
    says (headers are not part of the fingerprint, so a retry may change it)."""

    store_url: str
    store_options: dict[str, Any]
    runs_path: str
    delay: float
    options: dict[str, Any]


def environment(config: RunsConfig) -> dict[str, str]:
    """The environment variables that hand ``config`` to :func:`counted_app`."""
    return config_environment(_VARIABLE, config)


def runs(path: Path) -> list[tuple[str, int]]:
    """Every handler run so far: its key and the pid of the worker that ran it."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return [(key, int(pid)) for key, pid in (line.split() for line in lines)]


def _write_run(runs_path: str, request: Request) -> str:
    key = request.headers.get("idempotency-key", "-")
    line = f"{key} {os.getpid()}\n".encode()
    descriptor = os.open(runs_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return key


def _stream(request: Request) -> StreamingResponse:
    """``X-Chunks`` chunks of ``X-Chunk-Bytes`` bytes, one every ``delay`` seconds."""
    count = int(request.headers.get("x-chunks", "20"))
    size = int(request.headers.get("x-chunk-bytes", "100"))
    delay = float(request.headers.get("x-delay", "0.05"))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * size
            await asyncio.sleep(delay)

    return StreamingResponse(chunks(), status_code=201, media_type="text/plain")


def _config() -> RunsConfig:
    return cast(RunsConfig, config_of(_VARIABLE))


def counted_app() -> Starlette:
    config = _config()
    runs_path = config["runs_path"]

    async def order(request: Request) -> Response:
        key = _write_run(runs_path, request)
        await asyncio.sleep(float(request.headers.get("x-delay", config["delay"])))
        body = {"key": key, "pid": os.getpid(), "body": (await request.body()).decode()}
        return JSONResponse(body, status_code=201, headers={"Location": f"/orders/{key}"})

    async def customer(request: Request) -> Response:
        # The shape of Stripe's "create a customer", for stripe-python to parse.
        key = _write_run(runs_path, request)
        await asyncio.sleep(float(request.headers.get("x-delay", config["delay"])))
        form = parse_qs((await request.body()).decode())
        customer = {
            "id": f"cus_{os.getpid()}_{time.monotonic_ns()}",
            "object": "customer",
            "email": form.get("email", [None])[0],
            "livemode": False,
            "metadata": {"idempotency_key": key, "pid": str(os.getpid())},
        }
        return JSONResponse(customer)

    async def stream(request: Request) -> Response:
        _write_run(runs_path, request)
        return _stream(request)

    store = from_url(config["store_url"], **config["store_options"])
    ours = Middleware(IdempotencyMiddleware, store=store, **config["options"])
    routes = [
        Route("/orders", order, methods=["POST"]),
        Route("/v1/customers", customer, methods=["POST"]),
        Route("/stream", stream, methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[ours])


def counted_fastapi_app() -> FastAPI:
    """The ``/stream`` route of :func:`counted_app`, in FastAPI."""
    config = _config()
    app = FastAPI()

    @app.post("/stream", status_code=201)
    async def stream(request: Request) -> StreamingResponse:
        _write_run(config["runs_path"], request)
        return _stream(request)

    store = from_url(config["store_url"], **config["store_options"])
    app.add_middleware(IdempotencyMiddleware, store=store, **config["options"])
    return app
