"""Three retry stories, played over real HTTP against the FastAPI example apps.

Run ``python -m integrations.demo``. It serves the orders API and the form webhook
receiver with uvicorn on 127.0.0.1, both protected by one SQLite-backed store in a
temporary directory, and plays:

(a) a payment whose client times out while the first attempt is still running, then
    retries with the same key;
(b) a webhook the form service delivers five times with the same ``X-Delivery-Id``;
(c) three identical "buy" clicks sent at once.

For each it prints the requests and how many times the handler ran, counted in the
``orders`` table, and exits with status 1 unless every handler ran exactly once.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from idempotency_middleware.stores import SQLAlchemyStore, Store
from integrations.fastapi_app import create_app, create_webhook_app
from integrations.orders import OrderBook
from integrations.webhooks import DELIVERY_HEADER

PAYMENT_SECONDS = 1.0
"""How long the payment provider takes; every wait below is bounded well past it."""

CLIENT_TIMEOUT = 0.3
"""The impatient client of story (a) gives up long before the payment completes."""

WAIT_TIMEOUT = 10.0
"""How long the middleware holds a duplicate for the original to finish."""

REQUEST_TIMEOUT = WAIT_TIMEOUT + 5.0

ORDER = {"item": "annual plan", "amount": 19_900}


@dataclass(frozen=True)
class Attempt:
    """One request as the client saw it; ``status`` None means the client gave up."""

    status: int | None
    replayed: bool
    order_id: int | None
    seconds: float


@dataclass(frozen=True)
class Story:
    title: str
    setting: str
    attempts: Sequence[Attempt]
    runs: int

    def render(self) -> str:
        rows = [
            (
                str(number),
                "timed out" if attempt.status is None else str(attempt.status),
                "-" if attempt.status is None else "yes" if attempt.replayed else "no",
                "-" if attempt.order_id is None else str(attempt.order_id),
                f"{attempt.seconds:.2f} s",
            )
            for number, attempt in enumerate(self.attempts, 1)
        ]
        verdict = "OK" if self.runs == 1 else "FAILED: the handler must run exactly once"
        return "\n".join(
            [
                self.title,
                f"  {self.setting}",
                _table(("request", "status", "replayed", "order", "time"), rows),
                f"  requests sent: {len(self.attempts)}, handler ran: {self.runs}  ->  {verdict}",
            ]
        )


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(line[column]) for line in (header, *rows)) for column in range(len(header))]
    lines = [header, ["-" * width for width in widths], *rows]
    return "\n".join(
        "  "
        + "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


async def _send(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], timeout: float
) -> Attempt:
    started = time.monotonic()
    try:
        response = await client.post(path, json=ORDER, headers=headers, timeout=timeout)
    except httpx.TimeoutException:
        return Attempt(None, False, None, time.monotonic() - started)
    body: Any = response.json()
    # The webhook receiver wraps the order; the orders API answers with it.
    order = body.get("order", body) if isinstance(body, dict) else {}
    return Attempt(
        response.status_code,
        response.headers.get("Idempotent-Replayed") == "true",
        order.get("id"),
        time.monotonic() - started,
    )


async def _timed_out_payment(client: httpx.AsyncClient, book: OrderBook) -> Story:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = await _send(client, "/orders", headers, CLIENT_TIMEOUT)
    retry = await _send(client, "/orders", headers, REQUEST_TIMEOUT)
    return Story(
        "(a) A payment retried after the client timed out",
        f"payment takes {PAYMENT_SECONDS:.1f} s, the client gives up after {CLIENT_TIMEOUT} s "
        "and retries at once with the same Idempotency-Key",
        [first, retry],
        book.count(key),
    )


async def _repeated_webhook(client: httpx.AsyncClient, book: OrderBook) -> Story:
    delivery = f"dlv_{uuid.uuid4().hex}"
    attempts = [
        await _send(client, "/webhooks/forms", {DELIVERY_HEADER: delivery}, REQUEST_TIMEOUT)
        for _ in range(5)
    ]
    return Story(
        "(b) A form webhook delivered five times",
        f"the form service sends one submission five times with {DELIVERY_HEADER}: {delivery}",
        attempts,
        book.count(delivery),
    )


async def _triple_click(client: httpx.AsyncClient, book: OrderBook) -> Story:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    attempts = await asyncio.gather(
        *(_send(client, "/orders", headers, REQUEST_TIMEOUT) for _ in range(3))
    )
    return Story(
        '(c) Three "buy" clicks at once',
        "a slow page sends the same checkout three times at once, with one Idempotency-Key",
        attempts,
        book.count(key),
    )


async def _play(base_url: str, book: OrderBook) -> list[Story]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return [
            await _timed_out_payment(client, book),
            await _repeated_webhook(client, book),
            await _triple_click(client, book),
        ]


def _by_path(orders: ASGIApp, webhooks: ASGIApp) -> ASGIApp:
    """Both apps behind one port: ``/webhooks/...`` to the receiver, all else to orders.

    Each keeps its own middleware, so orders are keyed by ``Idempotency-Key`` and
    deliveries by ``X-Delivery-Id``.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        webhook = scope["type"] == "http" and scope["path"].startswith("/webhooks/")
        await (webhooks if webhook else orders)(scope, receive, send)

    return app


@contextmanager
def _serving(app: ASGIApp, store: Store) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread; yield its base URL."""
    listener = socket.socket()
    # Bound here, on a port the system picks, so no other process can take it first.
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5))

    async def serve() -> None:
        try:
            await server.serve(sockets=[listener])
        finally:
            # The store's async connections belong to this thread's event loop.
            await store.aclose()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), name="uvicorn")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="idempotency-demo-") as directory:
        store = SQLAlchemyStore(f"sqlite:///{Path(directory) / 'idempotency.db'}")
        orders_url = f"sqlite:///{Path(directory) / 'shop.db'}"
        book = OrderBook(orders_url)
        app = _by_path(
            create_app(
                store,
                orders_url=orders_url,
                delay=PAYMENT_SECONDS,
                in_flight="wait",
                wait_timeout=WAIT_TIMEOUT,
            ),
            create_webhook_app(store, orders_url=orders_url),
        )
        try:
            with _serving(app, store) as base_url:
                print(f"Serving the FastAPI example apps on {base_url}\n")
                stories = asyncio.run(_play(base_url, book))
        finally:
            store.close()
    print("\n\n".join(story.render() for story in stories))
    return 0 if all(story.runs == 1 for story in stories) else 1


if __name__ == "__main__":
    sys.exit(main())
