"""One variant served by uvicorn with one worker: ``python -m benchmarks.http_server``.

The process binds an ephemeral port of 127.0.0.1, prints it on its first line, builds
the variant at lifespan start-up and serves it. ``POST /__bench/reset`` empties the
variant's store between measurements; every other request goes to the variant's app.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from benchmarks.services import Services
from benchmarks.variants import ALL_SPECS, Variant, VariantSpec
from idempotency_middleware.asgi.types import Receive, Scope, Send

__all__ = ["RESET_PATH", "main"]

RESET_PATH = "/__bench/reset"


class _Served:
    """The ASGI app uvicorn runs: builds the variant on start-up, then delegates."""

    def __init__(self, spec: VariantSpec, services: Services) -> None:
        self.spec = spec
        self.services = services
        self.variant: Variant | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert self.variant is not None
        if scope["type"] == "http" and scope["path"] == RESET_PATH:
            await self.variant.reset()
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.variant.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.variant = await self.spec.build(self.services)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.variant is not None:
                    await self.variant.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.http_server")
    parser.add_argument("variant")
    parser.add_argument("--postgres-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--sqlite-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    spec = next(spec for spec in ALL_SPECS if spec.name == args.variant)
    services = Services(args.postgres_url, args.redis_url, args.tag, args.sqlite_dir)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on the accepted connections only for a
    # socket that names it, and without uvloop each response would otherwise wait for
    # the client's delayed ACK between its head and its body (about 40 ms).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    config = uvicorn.Config(
        _Served(spec, services),
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run(sockets=[listener])
    return 0


if __name__ == "__main__":
    sys.exit(main())
