"""A proxy that can lose a reply: the server ran the command, the client never hears it.

That is the moment a driver re-sends a command it cannot know the outcome of; the store
must answer a re-sent command as the first one would have been answered. An HTTP client
meets it too, behind a proxy that dropped the connection or gave up with a 503.
"""

from __future__ import annotations

import asyncio
import threading

from tests.support.proxy import Proxy, _Link

__all__ = ["LossyProxy"]


class LossyProxy(Proxy):
    """A :class:`~tests.support.proxy.Proxy` with one more fault: :meth:`lose_next_reply`."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        super().__init__(upstream_host, upstream_port)
        self._lose = threading.Event()
        self._in_place: bytes | None = None
        self.lost_replies = 0
        """Replies lost so far."""

    def __enter__(self) -> LossyProxy:
        self.start()
        return self

    def lose_next_reply(self, in_its_place: bytes | None = None) -> None:
        """Cut the connection that carries the server's next bytes instead of passing
        them on; or, given ``in_its_place``, send those bytes instead and close the
        connection, as an HTTP proxy answering ``503`` does."""
        self._in_place = in_its_place
        self._lose.set()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: _Link,
        *,
        from_client: bool,
    ) -> None:
        if not from_client:
            reader = _LosingReader(reader, self, link)
        await super()._pump(reader, writer, link, from_client=from_client)


class _LosingReader(asyncio.StreamReader):
    """The server side of a link, cut when the proxy is told to lose a reply."""

    def __init__(self, reader: asyncio.StreamReader, proxy: LossyProxy, link: _Link) -> None:
        super().__init__()
        self._reader = reader
        self._proxy = proxy
        self._link = link
        self._ended = False

    async def read(self, n: int = -1) -> bytes:
        if self._ended:
            return b""  # the proxy passes the end on: a graceful close after its answer
        data = await self._reader.read(n)
        if data and self._proxy._lose.is_set():
            self._proxy._lose.clear()
            self._proxy.lost_replies += 1
            if self._proxy._in_place is not None:
                self._ended = True
                return self._proxy._in_place
            self._link.abort()
            return b""
        return data
