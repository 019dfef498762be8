"""A request FastAPI rejects before its handler runs (request validation, 422) is not
stored by default, as Stripe does: the corrected retry with the same key runs. A 422 the
handler answers itself, after it ran, is stored like any other answer (SEMANTICS 5)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from idempotency_middleware import MemoryStore
from idempotency_middleware.asgi import IdempotencyMiddleware
from tests.asgi.conftest import BASE_URL, assert_problem

INVALID = {"item": "annual plan"}
VALID = {"item": "annual plan", "amount": 19_900}


class Order(BaseModel):
    item: str
    amount: int


def orders_app(runs: Counter[str], **options: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/orders", status_code=201)
    async def place(order: Order) -> dict[str, int]:
        runs["orders"] += 1
        return {"run": runs["orders"]}

    @app.post("/refunds")
    async def refund(order: Order) -> JSONResponse:
        runs["refunds"] += 1  # it ran, then refused: a final answer
        return JSONResponse({"error": "nothing to refund"}, status_code=422)

    app.add_middleware(IdempotencyMiddleware, store=MemoryStore(), **options)
    return app


async def post_in_turn(app: FastAPI, key: str, *requests: tuple[str, Any]) -> list[httpx.Response]:
    """Each ``(path, json_body)`` in turn, all with the same key."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        return [
            await http.post(path, json=body, headers={"Idempotency-Key": key})
            for path, body in requests
        ]


async def test_the_retry_corrected_after_request_validation_runs() -> None:
    runs: Counter[str] = Counter()
    invalid, corrected, again = await post_in_turn(
        orders_app(runs), "K", ("/orders", INVALID), ("/orders", VALID), ("/orders", VALID)
    )

    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "amount"]
    assert corrected.status_code == 201, corrected.text
    assert corrected.json() == {"run": 1}
    assert again.headers["idempotent-replayed"] == "true"
    assert runs["orders"] == 1


async def test_a_422_the_handler_answers_after_it_ran_is_stored() -> None:
    runs: Counter[str] = Counter()
    first, retry = await post_in_turn(
        orders_app(runs), "R", ("/refunds", VALID), ("/refunds", VALID)
    )

    assert first.status_code == retry.status_code == 422
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.content == first.content
    assert runs["refunds"] == 1


async def test_store_validation_errors_replays_the_rejection() -> None:
    runs: Counter[str] = Counter()
    invalid, repeated, corrected = await post_in_turn(
        orders_app(runs, store_validation_errors=True),
        "K",
        ("/orders", INVALID),
        ("/orders", INVALID),
        ("/orders", VALID),
    )

    assert invalid.status_code == 422
    assert repeated.headers["idempotent-replayed"] == "true"
    assert_problem(corrected, 422, "key-reused")
    assert runs["orders"] == 0
