"""The app every variant serves: a small orders API, as ``integrations.fastapi_app`` has.

The handler does no I/O, so what a variant adds to it is what the table shows; it counts
its calls, so each measurement can check that a replay did not run the handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

__all__ = ["ORDER_BODY", "Calls", "create_app"]

ORDER_BODY = b'{"item": "book", "amount": 1250}'


class OrderIn(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    amount: int = Field(gt=0, description="in cents")


@dataclass
class Calls:
    """How many times each handler ran."""

    placed: int = 0
    read: int = 0


def create_app() -> tuple[FastAPI, Calls]:
    """A fresh app with no middleware, and the counter of its handler calls."""
    app = FastAPI(title="Orders (benchmark)")
    calls = Calls()

    @app.post("/orders", status_code=201)
    async def place_order(order: OrderIn) -> JSONResponse:
        calls.placed += 1
        body = {"id": calls.placed, "item": order.item, "amount": order.amount}
        return JSONResponse(body, status_code=201, headers={"Location": f"/orders/{calls.placed}"})

    @app.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict[str, Any]:
        calls.read += 1
        return {"id": order_id, "item": "book", "amount": 1250}

    return app, calls
