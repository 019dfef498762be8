"""Deliver a request to a WSGI or an ASGI app in-process, as a server would."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any

import httpx

from tests.behaviour.client import Headers, Reply, Send
from tests.wsgi.conftest import environ

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication

__all__ = ["AsgiTransport", "wsgi_transport"]

TIMEOUT = 60.0


def wsgi_transport(app: WSGIApplication) -> Send:
    """Call ``app`` like a WSGI server; an exception is a 500, as a server answers it."""

    def send(method: str, path: str, headers: Headers, body: bytes) -> Reply:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def start_response(
            status: str, lines: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            started.append((status, list(lines)))
            return written.append

        path, _, query = path.partition("?")
        # Repeated header lines arrive joined with commas, as from a real server.
        env = environ(method, path, body, headers, QUERY_STRING=query)
        try:
            result: Iterable[bytes] = app(env, start_response)
            try:
                for chunk in result:
                    written.append(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # a server answers 500 and goes on
            return Reply(500, (), b"")
        status, lines = started[-1]
        return Reply(
            int(status.split()[0]),
            tuple((name.lower(), value) for name, value in lines),
            b"".join(written),
        )

    return send


class AsgiTransport:
    """Call an ASGI app through httpx's ASGI transport, on an event loop of its own in
    a thread, so that requests sent from several threads run concurrently."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def __call__(self, method: str, path: str, headers: Headers, body: bytes) -> Reply:
        future = asyncio.run_coroutine_threadsafe(
            self._send(method, path, headers, body), self._loop
        )
        return future.result(TIMEOUT)

    async def _send(self, method: str, path: str, headers: Headers, body: bytes) -> Reply:
        # Straight to the transport: a client would keep cookies from one request to the next.
        request = httpx.Request(
            method,
            "http://testserver" + path,
            headers=[(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            content=body,
        )
        response = await self._transport.handle_async_request(request)
        content = await response.aread()
        return Reply(
            response.status_code,
            tuple(
                (n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in response.headers.raw
            ),
            content,
        )

    def close(self, *closers: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Stop the loop, once the async ``closers`` (the store's async face, which
        lives on this loop) ran on it."""
        for closer in closers:
            asyncio.run_coroutine_threadsafe(closer(), self._loop).result(TIMEOUT)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT)
        self._loop.close()
