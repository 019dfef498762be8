"""The example FastAPI apps: an orders API and a webhook receiver, each behind the middleware.

Every executed request places a row in the ``orders`` table (see :mod:`integrations.orders`),
so a test or the demo counts how many times a handler really ran.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.openapi import install_openapi
from idempotency_middleware.stores import Store
from integrations.orders import MAX_INTEGER, OrderBook, order_json
from integrations.webhooks import DELIVERY_HEADER, webhook_options

__all__ = ["create_app", "create_webhook_app"]


class OrderIn(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    amount: int = Field(gt=0, le=MAX_INTEGER, description="in cents")


def create_app(
    store: Store,
    *,
    orders_url: str,
    orders_table: str = "orders",
    delay: float = 0.0,
    **options: Any,
) -> FastAPI:
    """The orders API; ``delay`` seconds of slow payment follow each placed order, and
    ``options`` go to :class:`IdempotencyMiddleware`."""
    book = OrderBook(orders_url, table=orders_table)
    book.create()
    # [start:openapi]
    app = FastAPI(title="Orders")
    app.add_middleware(IdempotencyMiddleware, store=store, **options)
    # The schema shows the Idempotency-Key header and the middleware's problem answers.
    install_openapi(app)
    # [end:openapi]

    @app.post("/orders", status_code=201)
    async def place_order(
        order: OrderIn, idempotency_key: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        placed = await run_in_threadpool(book.place, order.item, order.amount, idempotency_key)
        # The payment provider is slow: the order is committed but not yet answered, the
        # window in which clients time out and retry.
        await asyncio.sleep(delay)
        return JSONResponse(
            order_json(placed), status_code=201, headers={"Location": f"/orders/{placed.id}"}
        )

    # Declared before /orders/{order_id}, which would otherwise match "count".
    @app.get("/orders/count")
    async def count_orders(key: str | None = None) -> dict[str, int]:
        return {"count": await run_in_threadpool(book.count, key)}

    @app.get("/orders/{order_id}", responses={404: {"description": "No such order"}})
    async def get_order(order_id: Annotated[int, Path(ge=1, le=MAX_INTEGER)]) -> dict[str, Any]:
        order = await run_in_threadpool(book.get, order_id)
        if order is None:
            raise HTTPException(status_code=404, detail="no such order")
        return order_json(order)

    return app


def create_webhook_app(
    store: Store,
    *,
    orders_url: str,
    orders_table: str = "orders",
    delay: float = 0.0,
    **options: Any,
) -> FastAPI:
    """The receiver of the form service's order-form webhooks, keyed by ``X-Delivery-Id``
    unless ``options`` name another key source."""
    book = OrderBook(orders_url, table=orders_table)
    book.create()
    app = FastAPI(title="Form webhooks")
    app.add_middleware(IdempotencyMiddleware, store=store, **webhook_options(options))
    install_openapi(app)

    @app.post("/webhooks/forms")
    async def receive_form(
        order: OrderIn, delivery_id: Annotated[str | None, Header(alias=DELIVERY_HEADER)] = None
    ) -> dict[str, Any]:
        placed = await run_in_threadpool(book.place, order.item, order.amount, delivery_id)
        await asyncio.sleep(delay)
        return {"order": order_json(placed)}

    return app
