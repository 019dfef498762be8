"""Fixtures for the in-process ASGI behaviour suite.

Two ways in: a small Starlette app behind the middleware, driven through
``httpx.ASGITransport`` (what a user of Starlette or FastAPI observes), and raw ASGI
``receive``/``send`` callables (:func:`run_asgi`), where message order, repeated header
lines and the timing of each message are observable exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import ASGIApp, Message, Receive, Scope, Send
from idempotency_middleware.clock import Clock, system_clock
from idempotency_middleware.records import Record
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import MemoryStore, Store
from tests.support.problems import assert_problem as assert_problem

__all__ = [
    "BASE_URL",
    "Handlers",
    "MakeService",
    "RawResponse",
    "Service",
    "StoreFactory",
    "assert_problem",
    "http_scope",
    "raw_app",
    "run_asgi",
]

BASE_URL = "http://testserver"


class Handlers:
    """The endpoints of the test app, with what they saw: ``calls[route]`` counts runs."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.bodies: list[bytes] = []
        # /slow waits on ``gate`` after setting ``entered``, so a test can send a
        # duplicate while the first request is certainly in progress.
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    def _count(self, route: str) -> int:
        self.calls[route] += 1
        return self.calls[route]

    async def order(self, request: Request) -> Response:
        """201 with Location, two X-Custom lines, a cookie and a Date."""
        route = request.url.path
        run = self._count(route)
        body = await request.body()
        self.bodies.append(body)
        response = JSONResponse(
            {"route": route, "run": run, "method": request.method, "received": body.decode()},
            status_code=201 if request.method in ("POST", "PATCH") else 200,
            headers={"Location": f"/orders/{run}"},
        )
        response.headers.append("X-Custom", "first")
        response.headers.append("X-Custom", "second")
        response.headers.append("Date", f"Mon, 01 Jan 2024 00:00:{run:02d} GMT")
        response.set_cookie("session", f"secret-session-{run}")
        return response

    async def status(self, request: Request) -> Response:
        code = int(request.path_params["code"])
        run = self._count(f"status/{code}")
        return PlainTextResponse(f"status {code} run {run}", status_code=code)

    async def empty(self, request: Request) -> Response:
        self._count("empty")
        return Response(status_code=204)

    async def raise_first(self, request: Request) -> Response:
        """Raises on its first run, answers 201 afterwards."""
        run = self._count("raise")
        if run == 1:
            raise RuntimeError("handler failed")
        return JSONResponse({"run": run}, status_code=201)

    async def stream(self, request: Request) -> Response:
        run = self._count("stream")
        chunks = int(request.query_params["chunks"])
        size = int(request.query_params["size"])

        async def produce() -> AsyncIterator[bytes]:
            for index in range(chunks):
                yield bytes([ord("a") + index % 26]) * size
                await asyncio.sleep(0)

        return StreamingResponse(produce(), headers={"X-Run": str(run)})

    async def slow(self, request: Request) -> Response:
        """Waits on ``gate``; with ``?fail=first`` its first run raises."""
        run = self._count("slow")
        await request.body()
        self.entered.set()
        await self.gate.wait()
        if request.query_params.get("fail") == "first" and run == 1:
            raise RuntimeError("first run failed")
        return JSONResponse({"run": run}, status_code=201)

    async def echo(self, request: Request) -> Response:
        run = self._count("echo")
        body = await request.body()
        self.bodies.append(body)
        return Response(body, status_code=201, headers={"X-Run": str(run)})

    def routes(self) -> list[Route]:
        every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/orders", self.order, methods=every),
            Route("/other", self.order, methods=every),
            Route("/orders/{id}/pay", self.order, methods=every),
            Route("/webhooks/{name}", self.order, methods=every),
            Route("/status/{code:int}", self.status, methods=["POST"]),
            Route("/empty", self.empty, methods=["POST"]),
            Route("/raise", self.raise_first, methods=["POST"]),
            Route("/stream", self.stream, methods=["POST"]),
            Route("/slow", self.slow, methods=["POST"]),
            Route("/echo", self.echo, methods=["POST"]),
        ]


@dataclass
class Service:
    """A Starlette app behind the middleware, its client, store and handlers."""

    client: httpx.AsyncClient
    store: Store
    handlers: Handlers
    app: Starlette
    secret: bytes | None = None

    @property
    def calls(self) -> Counter[str]:
        return self.handlers.calls

    def lookup(self, key: str, scope: str = ANONYMOUS_SCOPE) -> str:
        """The lookup key the store holds the record of ``key`` under."""
        return lookup_key(scope, key, self.secret)

    async def record(self, key: str, scope: str = ANONYMOUS_SCOPE) -> Record | None:
        return await self.store.aget(self.lookup(key, scope))

    async def post(
        self, path: str, key: str | None = None, *, json_body: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        if json_body is not None:
            kwargs["json"] = json_body
        return await self.client.post(path, headers=headers, **kwargs)


class MakeService(Protocol):
    def __call__(
        self,
        *,
        store: Store | None = None,
        raise_app_exceptions: bool = True,
        outer: Sequence[Middleware] = (),
        **options: Any,
    ) -> Service: ...


@pytest.fixture
async def make_service() -> AsyncIterator[MakeService]:
    """Build a Starlette app with ``IdempotencyMiddleware(**options)``; ``outer``
    middleware (authentication) wraps ours."""
    clients: list[httpx.AsyncClient] = []

    def make(
        *,
        store: Store | None = None,
        raise_app_exceptions: bool = True,
        outer: Sequence[Middleware] = (),
        **options: Any,
    ) -> Service:
        store = MemoryStore() if store is None else store
        handlers = Handlers()
        # BUG (reported): __init__(self, app, **options) does not match Starlette's
        # _MiddlewareFactory under mypy --strict; ``app`` must be positional-only.
        ours = Middleware(IdempotencyMiddleware, store=store, **options)
        app = Starlette(routes=handlers.routes(), middleware=[*outer, ours])
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        client = httpx.AsyncClient(transport=transport, base_url=BASE_URL)
        clients.append(client)
        secret = options.get("secret")
        return Service(
            client, store, handlers, app, secret.encode() if isinstance(secret, str) else secret
        )

    yield make
    for client in clients:
        await client.aclose()


StoreFactory = Callable[..., Store]
"""``make_store(clock=...)``: a fresh store of the kind under test."""


@pytest.fixture(params=["memory", "sqlite"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Builds stores of one kind: the in-process MemoryStore, or SQLAlchemyStore on a
    SQLite file (for the few tests that must hold whatever the store)."""
    kind: str = request.param
    opened: list[Store] = []
    with contextlib.ExitStack() as stack:

        def make(clock: Clock = system_clock) -> Store:
            if kind == "memory":
                return MemoryStore(clock=clock)
            from tests.support.databases import sql_store, sqlite_url

            directory = tmp_path / f"db{len(opened)}"
            directory.mkdir()
            store = stack.enter_context(sql_store(sqlite_url(directory), clock=clock))
            opened.append(store)
            return store

        yield make
        for store in opened:
            await store.aclose()


@pytest.fixture
def service(make_service: MakeService) -> Service:
    """The test app with default options and a fresh MemoryStore."""
    return make_service()


# -- raw ASGI -------------------------------------------------------------------------


def http_scope(
    method: str = "POST",
    path: str = "/",
    headers: Iterable[tuple[bytes, bytes]] = (),
    query_string: bytes = b"",
) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query_string,
        "headers": list(headers),
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }


@dataclass
class RawResponse:
    """Every message an app sent, and the response they make up."""

    messages: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(bytes(name), bytes(value)) for name, value in self.messages[0]["headers"]]

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    def header_values(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name]


async def run_asgi(
    app: ASGIApp,
    scope: Scope,
    chunks: Sequence[bytes] = (b"",),
    *,
    on_send: Callable[[Message], Awaitable[None]] | None = None,
) -> RawResponse:
    """Call ``app`` like a server: the body in ``chunks`` (one ``http.request`` each),
    then ``http.disconnect`` only once the response is complete."""
    response = RawResponse()
    complete = asyncio.Event()
    pending = list(chunks)

    async def receive() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        response.messages.append(dict(message))
        if on_send is not None:
            await on_send(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            complete.set()

    await app(scope, receive, send)
    return response


def raw_app(
    status: int,
    headers: Sequence[tuple[bytes, bytes]],
    chunks: Sequence[bytes],
    calls: Counter[str],
) -> ASGIApp:
    """A bare ASGI app that reads the body, then sends ``chunks`` exactly as given."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls["raw"] += 1
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        for index, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": index < len(chunks) - 1}
            )
        if not chunks:
            await send({"type": "http.response.body", "body": b""})

    return app
