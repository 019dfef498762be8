"""A proxy that can lose a reply: the server ran the command, the client never hears it.

That is the moment a driver re-sends a command it cannot know the outcome of; the store
must answer a re-sent command as the first one would have been answered.
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
        self.lost_replies = 0
        """Replies lost so far."""

    def __enter__(self) -> LossyProxy:
        self.start()
        return self

    def lose_next_reply(self) -> None:
        """Cut the connection that carries the server's next bytes instead of passing
        them on."""
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

    async def read(self, n: int = -1) -> bytes:
        data = await self._reader.read(n)
        if data and self._proxy._lose.is_set():
            self._proxy._lose.clear()
            self._proxy.lost_replies += 1
            self._link.abort()
            return b""
        return data
