"""The example Starlette apps: an orders API and a webhook receiver, each behind the middleware.

Every executed request places a row in the ``orders`` table (see :mod:`integrations.orders`),
so a test or the demo counts how many times a handler really ran.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import Store
from integrations.orders import Order, OrderBook, order_json, parse_order
from integrations.webhooks import DELIVERY_HEADER, webhook_options

__all__ = ["create_app", "create_webhook_app"]


async def _place(
    request: Request, book: OrderBook, key_header: str, delay: float
) -> Order | Response:
    """Place the order the request's body describes, or answer 422 to a body that is not one."""
    try:
        item, amount = parse_order(await request.json())
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        return JSONResponse({"detail": str(error)}, status_code=422)
    placed = await run_in_threadpool(book.place, item, amount, request.headers.get(key_header))
    # The payment provider is slow: the order is committed but not yet answered, the
    # window in which clients time out and retry.
    await asyncio.sleep(delay)
    return placed


def create_app(
    store: Store,
    *,
    orders_url: str,
    orders_table: str = "orders",
    delay: float = 0.0,
    **options: Any,
) -> Starlette:
    """The orders API; ``delay`` seconds of slow payment follow each placed order, and
    ``options`` go to :class:`IdempotencyMiddleware`."""
    book = OrderBook(orders_url, table=orders_table)
    book.create()

    async def place_order(request: Request) -> Response:
        placed = await _place(request, book, "Idempotency-Key", delay)
        if isinstance(placed, Response):
            return placed
        return JSONResponse(
            order_json(placed), status_code=201, headers={"Location": f"/orders/{placed.id}"}
        )

    async def count_orders(request: Request) -> Response:
        count = await run_in_threadpool(book.count, request.query_params.get("key"))
        return JSONResponse({"count": count})

    async def get_order(request: Request) -> Response:
        order = await run_in_threadpool(book.get, request.path_params["order_id"])
        if order is None:
            return JSONResponse({"detail": "no such order"}, status_code=404)
        return JSONResponse(order_json(order))

    return Starlette(
        routes=[
            Route("/orders", place_order, methods=["POST"]),
            Route("/orders/count", count_orders, methods=["GET"]),
            Route("/orders/{order_id:int}", get_order, methods=["GET"]),
        ],
        middleware=[Middleware(IdempotencyMiddleware, store=store, **options)],
    )


def create_webhook_app(
    store: Store,
    *,
    orders_url: str,
    orders_table: str = "orders",
    delay: float = 0.0,
    **options: Any,
) -> Starlette:
    """The receiver of the form service's order-form webhooks, keyed by ``X-Delivery-Id``
    unless ``options`` name another key source."""
    book = OrderBook(orders_url, table=orders_table)
    book.create()

    async def receive_form(request: Request) -> Response:
        placed = await _place(request, book, DELIVERY_HEADER, delay)
        if isinstance(placed, Response):
            return placed
        return JSONResponse({"order": order_json(placed)})

    return Starlette(
        routes=[Route("/webhooks/forms", receive_form, methods=["POST"])],
        middleware=[Middleware(IdempotencyMiddleware, store=store, **webhook_options(options))],
    )
