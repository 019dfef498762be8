"""Store round trips per request, counted on the wire by a small loopback proxy.

A round trip is a burst of client bytes answered by the server: on each connection the
count goes up when the server speaks after the client did. Pipelined commands are one
round trip; a connection reset or a ``BEGIN`` sent on its own is one more. The count is
taken in a pass of its own, after the timed rounds, so the proxy never slows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from benchmarks.asgi_requests import Recorder, prepare, replay_key
from benchmarks.inprocess import run_requests
from benchmarks.services import Address, Services
from benchmarks.settings import CONCURRENCY, SCENARIOS
from benchmarks.variants import VariantSpec

__all__ = ["CountingProxy", "WireCount", "count_round_trips"]

_T = TypeVar("_T")
_WARMUP_REQUESTS = 24


class CountingProxy:
    """Forwards an ephemeral port of 127.0.0.1 to ``upstream``, counting round trips.

    It runs its own event loop in a thread, so it counts the traffic of the benchmark's
    loop without sharing it. Bytes are counted as they are forwarded, before the client
    can see the answer, so the count is settled when the client's call returns.
    """

    def __init__(self, upstream: Address) -> None:
        self.upstream = upstream
        self.address: Address = ("127.0.0.1", 0)
        self._count = 0
        self._connections = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._links: set[asyncio.Task[None]] = set()

    @property
    def round_trips(self) -> int:
        with self._lock:
            return self._count

    @property
    def connections(self) -> int:
        """Connections opened since the last :meth:`reset`."""
        with self._lock:
            return self._connections

    def reset(self) -> None:
        with self._lock:
            self._count = 0
            self._connections = 0

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.address = ("127.0.0.1", self._server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._links:
            await asyncio.wait(self._links, timeout=5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            await self._forward(reader, writer)
        finally:
            self._links.discard(task)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        with self._lock:
            self._connections += 1
        client_spoke = [False]
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, lambda: client_spoke.__setitem__(0, True)),
                self._pump(up_reader, writer, lambda: self._answered(client_spoke)),
                return_exceptions=True,
            )
        finally:
            for stream in (writer, up_writer):
                self._writers.discard(stream)
                stream.close()

    def _answered(self, client_spoke: list[bool]) -> None:
        if client_spoke[0]:
            client_spoke[0] = False
            with self._lock:
                self._count += 1

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: Callable[[], None]
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                seen()
                writer.write(data)
                await writer.drain()
            writer.close()


@dataclass(frozen=True)
class WireCount:
    """Per request: round trips, and new connections opened to the store."""

    round_trips: float
    connections: float


async def count_round_trips(
    spec: VariantSpec, services: Services, requests: int
) -> dict[tuple[str, int], WireCount]:
    """What one wire variant spends per request, for each scenario and concurrency."""
    with contextlib.ExitStack() as stack:
        proxies = {
            name: stack.enter_context(
                CountingProxy(services.postgres if name == "postgres" else services.redis)
            )
            for name in spec.needs
        }
        proxied = services.via(
            proxies["postgres"].address if "postgres" in proxies else None,
            proxies["redis"].address if "redis" in proxies else None,
        )
        variant = await spec.build(proxied)
        counts: dict[tuple[str, int], WireCount] = {}
        try:
            for scenario in SCENARIOS:
                for concurrency in CONCURRENCY:
                    await variant.reset()
                    key = None
                    if scenario.keyed and not scenario.new_key_each_time:
                        # Completed by one request first, as in the measurements: the
                        # first requests of a key sent at once would race to claim it.
                        key = replay_key()
                        await run_requests(variant, prepare(scenario, 1, key), 1, Recorder())
                    for batch in (_WARMUP_REQUESTS, requests):
                        for proxy in proxies.values():
                            proxy.reset()
                        stream = prepare(scenario, batch, key)
                        await run_requests(variant, stream, concurrency, Recorder())
                    counts[scenario.name, concurrency] = WireCount(
                        sum(p.round_trips for p in proxies.values()) / requests,
                        sum(p.connections for p in proxies.values()) / requests,
                    )
        finally:
            await variant.close()
        return counts
