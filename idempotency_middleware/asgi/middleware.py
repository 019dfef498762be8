"""The ASGI adapter: translates ASGI messages to the protocol's neutral values and back."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable
from typing import Any

from idempotency_middleware.asgi.types import ASGIApp, Message, Receive, Scope, Send
from idempotency_middleware.drivers import AsyncDriver
from idempotency_middleware.options import Options
from idempotency_middleware.outcome_log import Report
from idempotency_middleware.protocol import Admitted, PassThrough, admit, exchange, inspect
from idempotency_middleware.recording import Recorder
from idempotency_middleware.records import StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.steps import AppResult, Done, Respond

__all__ = ["IdempotencyMiddleware"]


def _principal(scope: Scope) -> str | None:
    # Starlette's AuthenticationMiddleware puts a BaseUser in scope["user"]; it must run
    # outside this middleware for the user to be seen here.
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        identity = user.identity
    except (AttributeError, NotImplementedError):
        identity = getattr(user, "display_name", None)
    return None if identity in (None, "") else str(identity)


def _head(scope: Scope) -> Request:
    query: bytes = scope.get("query_string", b"")
    return Request(
        scope["method"],
        scope["path"],
        query.decode("latin-1") if query else "",
        tuple(
            [
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in scope.get("headers", ())
            ]
        ),
        b"",
        _principal(scope),
    )


async def _send_response(send: Send, response: StoredResponse) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": list(response.headers),
        }
    )
    await send({"type": "http.response.body", "body": response.body})


_VALIDATION_ERRORS = frozenset({("fastapi.exceptions", "RequestValidationError")})
"""The errors a framework raises when it rejects a request before the handler runs."""


def _rejected() -> bool:
    """True while the app answers a request its framework refused before the handler ran.

    FastAPI's exception handler sends the 422 from the ``except`` block that caught
    ``RequestValidationError``, so the error is still being handled when the response
    starts; a handler's own 422, returned after it ran, is not. No import of FastAPI.
    """
    error = sys.exc_info()[1]
    if error is None:
        return False
    return any(
        (kind.__module__, kind.__qualname__) in _VALIDATION_ERRORS for kind in type(error).__mro__
    )


class _Disconnected(Exception):
    """The client went away before its body was read: nothing to answer."""


async def _reject(send: Send, answer: Respond, report: Report) -> None:
    """Answer a request the adapter turns away before any store is involved."""
    report(answer.outcome, answer.response.status)
    await _send_response(send, answer.response)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None when it is over ``limit``."""
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        body: bytes = message.get("body", b"")  # the usual case: the body in one message
        return body if len(body) <= limit else None
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
        message = await receive()


def _declared_length(request: Request) -> int | None:
    value = request.header("content-length")
    return int(value) if value is not None and value.isdigit() else None


class IdempotencyMiddleware:
    """Exactly-once POST and PATCH for an ASGI app (SEMANTICS sections 1 to 7).

    ``IdempotencyMiddleware(app, store=..., **options)``; with Starlette or FastAPI,
    ``app.add_middleware(IdempotencyMiddleware, store=...)``. ``store`` is required,
    since a per-process default would let each worker run a duplicate. The options
    (``header``, ``key``, ``methods``, ``ttl``, ``lease``, ``in_flight``,
    ``wait_timeout``, ``max_request_bytes``, ``max_response_bytes``,
    ``on_store_error``, ``scope``, ``fingerprint``, ``include``, ``required``,
    ``exclude``, ``secret``, ``routes``) are those of :meth:`Options.build
    <idempotency_middleware.options.Options.build>`; a wrong one raises
    :class:`~idempotency_middleware.errors.ConfigurationError` here, at start-up.

    Place it inside authentication middleware (so the user scopes keys) and inside
    CORS middleware (so its errors carry CORS headers).
    """

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.options = Options.build(**options)
        # A store whose async faces never suspend cannot be cancelled halfway through a
        # completion: it is awaited inline, which spares a task and a loop turn a request.
        self._shield = self.options.store.suspends

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most requests are not covered (GET, HEAD): they pass before any header is read.
        if scope["type"] != "http" or scope["method"] not in self.options.methods:
            await self.app(scope, receive, send)
            return
        options = self.options.for_path(scope["path"])
        head = _head(scope)
        decision = inspect(options, head)
        if isinstance(decision, PassThrough):
            await self.app(scope, receive, send)
            return
        if isinstance(decision, Respond):
            await _reject(send, decision, Report(options, head))
            return
        declared = _declared_length(head)
        try:
            body = (
                None
                if (declared or 0) > decision.limit
                else await _read_body(receive, decision.limit)
            )
        except _Disconnected:
            return
        admitted = admit(options, decision, head, body, head.principal)
        if type(admitted) is Admitted:
            await self._run(
                options,
                scope,
                _replaying(admitted.request.body, receive),
                send,
                admitted.request,
                admitted.key,
            )
        elif isinstance(admitted, Respond):
            await _reject(send, admitted, Report(options, head))
        else:
            await self.app(scope, _replaying(body or b"", receive), send)

    async def _run(
        self,
        options: Options,
        scope: Scope,
        receive: Receive,
        send: Send,
        request: Request,
        key: str,
    ) -> None:
        driver = AsyncDriver(
            options.store, exchange(options, request, key), Report(options, request)
        )
        step = await driver.begin()
        if isinstance(step, Respond):
            await _send_response(send, step.response)
            return
        if not step.protected:
            await self.app(scope, receive, send)
            return
        recorder = Recorder(options.max_response_bytes)
        client_gone: OSError | None = None

        def finish(result: AppResult) -> Awaitable[Done]:
            return _shielded(driver.finish(result)) if self._shield else driver.finish(result)

        async def settle() -> None:
            # The app raised or returned before the last byte of its response.
            result = recorder.fail()
            if result is not None:
                await finish(result)

        async def capturing_send(message: Message) -> None:
            nonlocal client_gone
            if message["type"] == "http.response.start":
                headers = tuple(message.get("headers", ()))
                recorder.start(message["status"], headers, rejected=_rejected())
                recorder.sent()
            elif message["type"] == "http.response.body" and not recorder.finished:
                last = not message.get("more_body", False)
                result = recorder.body(message.get("body", b""), last)
                if result is not None:
                    await finish(result)
            if client_gone is None:
                try:
                    await send(message)
                except OSError as exc:
                    client_gone = exc
            # A client that left releases nothing (SEMANTICS 5): the app finishes its
            # response so that it is stored, unless the recorder is done with it.
            if client_gone is not None and not recorder.drains:
                raise client_gone

        try:
            await self.app(scope, receive, capturing_send)
        except BaseException:
            await settle()
            raise
        if not recorder.finished:
            await settle()


async def _shielded(work: Any) -> Done:
    # A disconnect can cancel the app's task group (Starlette's streaming responses do)
    # while the record is written; the write must still land, or the key stays claimed.
    done: Done = await asyncio.shield(asyncio.ensure_future(work))
    return done


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the buffered body, then waits for the real
    disconnect instead of inventing one (which would cut streaming responses short)."""
    sent = False

    async def wrapped() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped
