"""A loopback TCP proxy that counts round trips on the wire and can break the link.

It runs its own event loop in a background thread, so sync and async tests use it alike::

    with Proxy("127.0.0.1", 5432) as proxy:
        url = proxy.url("postgresql+psycopg://postgres@127.0.0.1:5432/test")
        ...
        proxy.reset()
        store.claim(...)
        assert proxy.round_trips == 1

A round trip is a burst of client bytes answered by the server: the count goes up each
time, on one connection, the server speaks after the client did. Bytes are counted when
the proxy forwards them, before the client can see the answer, so the count is settled
when the client call returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

__all__ = ["Proxy"]

_T = TypeVar("_T")
_CHUNK = 65536


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, client: asyncio.StreamWriter, server: asyncio.StreamWriter) -> None:
        self.client = client
        self.server = server
        self.client_spoke_last = False

    def abort(self) -> None:
        self.client.transport.abort()
        self.server.transport.abort()


class Proxy:
    """Forward ``127.0.0.1:<port>`` to ``upstream_host:upstream_port``.

    Fault hooks, callable from any thread: :meth:`drop` cuts every open connection,
    :meth:`stall` holds all bytes in both directions (connections stay open),
    :meth:`lose_replies` lets requests through and throws the server's replies away,
    :meth:`refuse` stops listening so new connections are refused; :meth:`heal` undoes
    :meth:`stall`, :meth:`lose_replies` and :meth:`refuse`. Use it as a context manager, or pair
    :meth:`start` with :meth:`close`, which also closes its event loop.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.host = "127.0.0.1"
        self.port = 0
        self._round_trips = 0
        self._lock = threading.Lock()
        self._links: set[_Link] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._losing_replies = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def round_trips(self) -> int:
        """Round trips seen since the last :meth:`reset`, over all connections."""
        with self._lock:
            return self._round_trips

    def reset(self) -> None:
        """Start counting round trips from zero."""
        with self._lock:
            self._round_trips = 0

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by the proxy's."""
        proxied = make_url(url).set(host=self.host, port=self.port)
        return proxied.render_as_string(hide_password=False)

    def start(self) -> None:
        """Listen on an ephemeral port of 127.0.0.1."""
        self._thread.start()
        self._call(self._listen())

    def close(self) -> None:
        """Stop listening, cut every connection and stop the thread."""
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def drop(self) -> None:
        """Cut every open connection, as a crashed server or a dead network would."""
        self._call(self._abort_links())

    def stall(self) -> None:
        """Hold every byte in both directions until :meth:`heal`."""
        self._loop.call_soon_threadsafe(self._flowing.clear)

    def lose_replies(self) -> None:
        """Forward what clients send, discard what the server answers: a statement
        runs, and its client never learns it did."""
        self._losing_replies = True

    def refuse(self) -> None:
        """Stop listening: new connections are refused until :meth:`heal`."""
        self._call(self._stop_listening())

    def heal(self) -> None:
        """Let bytes flow and accept connections again."""
        self._losing_replies = False
        self._loop.call_soon_threadsafe(self._flowing.set)
        if self._server is None:
            self._call(self._listen())

    def __enter__(self) -> Proxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _listen(self) -> None:
        self._flowing.set()
        # Port 0 picks a free port once; afterwards refuse/heal reopens the same one.
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        # close() shuts the listening socket at once; wait_closed() would also wait for
        # the open connections (Python 3.12+), which refusing must leave alone.
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _abort_links(self) -> None:
        for link in list(self._links):
            link.abort()

    async def _shutdown(self) -> None:
        # Cutting the links ends every connection's task; cancelling them instead would
        # make asyncio log the cancellation as an error of the server callback.
        self._flowing.set()
        await self._stop_listening()
        await self._abort_links()
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        link = _Link(writer, upstream_writer)
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pump(reader, upstream_writer, link, from_client=True),
                self._pump(upstream_reader, writer, link, from_client=False),
            )
        finally:
            self._links.discard(link)
            for stream in (writer, upstream_writer):
                stream.close()
                with contextlib.suppress(OSError):
                    await stream.wait_closed()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Link,
        *,
        from_client: bool,
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await self._flowing.wait()
                if not from_client and self._losing_replies:
                    continue
                if from_client:
                    link.client_spoke_last = True
                elif link.client_spoke_last:
                    link.client_spoke_last = False
                    with self._lock:
                        self._round_trips += 1
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            link.abort()
