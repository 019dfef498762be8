"""Each webhook preset: a provider-shaped delivery sent five times runs once."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idempotency_middleware import presets
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore

Delivery = tuple[dict[str, str], bytes]


def github(number: int) -> Delivery:
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Hook-ID": "292430182",
        "Content-Type": "application/json",
    }
    # GitHub re-renders a redelivered payload: the body differs, the delivery id not.
    body = {"ref": "refs/heads/main", "attempt": number}
    return headers, json.dumps(body).encode()


def stripe(number: int) -> Delivery:
    event = {"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "type": "charge.succeeded", "n": number}
    return {"Stripe-Signature": f"t={number},v1=abc", "Content-Type": "application/json"}, (
        json.dumps(event).encode()
    )


def shopify(number: int) -> Delivery:
    headers = {
        "X-Shopify-Event-Id": "98880550-7158-44d4-b7cd-2c97c8a091b5",
        "X-Shopify-Shop-Domain": "shop.example.com",
        "X-Shopify-Topic": "orders/create",
        "Content-Type": "application/json",
    }
    return headers, json.dumps({"id": 820982911946154508, "try": number}).encode()


def standard_webhooks(number: int) -> Delivery:
    headers = {
        "webhook-id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
        "webhook-timestamp": str(1674087231 + number),
        "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
        "Content-Type": "application/json",
    }
    return headers, json.dumps({"type": "invoice.paid", "n": number}).encode()


PROVIDERS: list[tuple[Callable[[str | None], dict[str, Any]], Callable[[int], Delivery]]] = [
    (presets.github, github),
    (presets.stripe, stripe),
    (presets.shopify, shopify),
    (presets.standard_webhooks, standard_webhooks),
]


def receiver(calls: Counter[str]) -> Starlette:
    async def hook(request: Request) -> Response:
        if request.headers.get("x-forged") == "yes":
            return JSONResponse({"error": "bad signature"}, status_code=401)
        calls["hook"] += 1
        return JSONResponse({"received": calls["hook"]})

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


@pytest.mark.parametrize(("preset", "delivery"), PROVIDERS)
async def test_a_delivery_sent_five_times_runs_once(
    preset: Callable[[str | None], dict[str, Any]], delivery: Callable[[int], Delivery]
) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(receiver(calls), store=MemoryStore(), **preset("/hooks"))
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = []
        for number in range(5):
            headers, body = delivery(number)
            answers.append(await client.post("/hooks", content=body, headers=headers))
    assert calls["hook"] == 1
    assert [answer.status_code for answer in answers] == [200] * 5
    assert {answer.json()["received"] for answer in answers} == {1}
    assert [answer.headers.get("idempotent-replayed") for answer in answers[1:]] == ["true"] * 4


@pytest.mark.parametrize(("preset", "delivery"), PROVIDERS)
async def test_a_forged_delivery_refused_by_the_view_is_not_stored(
    preset: Callable[[str | None], dict[str, Any]], delivery: Callable[[int], Delivery]
) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(receiver(calls), store=MemoryStore(), **preset("/hooks"))
    headers, body = delivery(0)
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        forged = await client.post("/hooks", content=body, headers={**headers, "X-Forged": "yes"})
        genuine = await client.post("/hooks", content=body, headers=headers)
    assert forged.status_code == 401
    assert genuine.status_code == 200
    assert "idempotent-replayed" not in genuine.headers
    assert calls["hook"] == 1


def test_presets_keep_deliveries_at_least_72_hours() -> None:
    for preset, _ in PROVIDERS:
        assert preset(None)["ttl"] >= 72 * 3600
        assert "include" not in preset(None)
