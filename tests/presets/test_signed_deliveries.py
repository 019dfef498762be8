"""The Standard Webhooks preset with deliveries signed by the real ``svix`` and
``standardwebhooks`` libraries, redelivered as the providers do: each attempt signed
again, at a later timestamp."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import standardwebhooks
import svix
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from idempotency_middleware import presets
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.scope import lookup_key
from idempotency_middleware.stores import MemoryStore, Store
from integrations.snippets import webhook_signatures

SECRET = "whsec_" + base64.b64encode(b"a secret of the receiving endpoint").decode()
MESSAGE_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
PAYLOAD = json.dumps({"type": "invoice.paid", "data": {"id": "in_1"}}).encode()


def svix_delivery(attempt: int) -> dict[str, str]:
    """The headers Svix sends by default: ``svix-*``."""
    timestamp = datetime.now(timezone.utc) - timedelta(minutes=4) + timedelta(seconds=attempt)
    signature = svix.Webhook(SECRET).sign(MESSAGE_ID, timestamp, PAYLOAD.decode())
    return {
        "svix-id": MESSAGE_ID,
        "svix-timestamp": str(int(timestamp.timestamp())),
        "svix-signature": signature,
        "content-type": "application/json",
    }


def standard_delivery(attempt: int) -> dict[str, str]:
    """The headers of the Standard Webhooks specification: ``webhook-*``."""
    timestamp = datetime.now(timezone.utc) - timedelta(minutes=4) + timedelta(seconds=attempt)
    signature = standardwebhooks.Webhook(SECRET).sign(MESSAGE_ID, timestamp, PAYLOAD)
    return {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def receiver(calls: Counter[str]) -> Starlette:
    """A receiver that verifies each delivery with svix's verifier, which reads either
    set of headers, and answers a forged one with 401."""

    async def hook(request: Request) -> Response:
        try:
            svix.Webhook(SECRET).verify(await request.body(), dict(request.headers))
        except svix.webhooks.WebhookVerificationError:
            return JSONResponse({"error": "bad signature"}, status_code=401)
        calls["hook"] += 1
        return JSONResponse({"received": calls["hook"]})

    return Starlette(routes=[Route("/hooks", hook, methods=["POST"])])


def protected(app: Starlette, store: Store | None = None) -> IdempotencyMiddleware:
    store = MemoryStore() if store is None else store
    return IdempotencyMiddleware(app, store=store, **presets.standard_webhooks("/hooks"))


async def deliver(
    app: IdempotencyMiddleware, headers: list[dict[str, str]]
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [await client.post("/hooks", content=PAYLOAD, headers=each) for each in headers]


@pytest.mark.parametrize("delivery", [svix_delivery, standard_delivery], ids=["svix", "standard"])
async def test_a_signed_delivery_redelivered_five_times_runs_once(
    delivery: Callable[[int], dict[str, str]],
) -> None:
    calls: Counter[str] = Counter()
    store = MemoryStore()
    app = protected(receiver(calls), store)
    answers = await deliver(app, [delivery(attempt) for attempt in range(6)])
    assert calls["hook"] == 1
    assert [answer.status_code for answer in answers] == [200] * 6
    assert {answer.json()["received"] for answer in answers} == {1}
    assert [answer.headers.get("idempotent-replayed") for answer in answers[1:]] == ["true"] * 5
    assert store.get(lookup_key("standard-webhooks", MESSAGE_ID, None)) is not None


async def test_svix_and_standard_headers_name_the_same_delivery() -> None:
    calls: Counter[str] = Counter()
    app = protected(receiver(calls))
    both = {**svix_delivery(1), **standard_delivery(1)}
    answers = await deliver(app, [svix_delivery(0), standard_delivery(1), both])
    assert [answer.status_code for answer in answers] == [200] * 3
    assert calls["hook"] == 1


async def test_two_different_ids_in_one_delivery_are_400_and_run_nothing() -> None:
    calls: Counter[str] = Counter()
    app = protected(receiver(calls))
    headers = {**svix_delivery(0), "webhook-id": "msg_another"}
    [answer] = await deliver(app, [headers])
    assert answer.status_code == 400
    assert answer.json()["type"].rstrip("/").endswith("/key-invalid")
    assert "svix-id" in answer.json()["detail"]
    assert calls["hook"] == 0


async def test_without_verification_a_forged_request_with_a_stored_id_gets_the_stored_200() -> None:
    # What docs/webhooks.md warns of: the id is looked up before the view verifies.
    calls: Counter[str] = Counter()
    app = protected(receiver(calls))
    forged = {**svix_delivery(1), "svix-signature": "v1,Zm9yZ2Vk"}
    genuine, replayed = await deliver(app, [svix_delivery(0), forged])
    assert replayed.status_code == 200
    assert replayed.content == genuine.content
    assert calls["hook"] == 1


@pytest.mark.parametrize("delivery", [svix_delivery, standard_delivery], ids=["svix", "standard"])
async def test_the_verifying_key_refuses_a_forged_request_and_replays_a_redelivery(
    delivery: Callable[[int], dict[str, str]],
) -> None:
    app = webhook_signatures.create_app(MemoryStore(), SECRET)
    forged = {**delivery(1), "svix-signature": "v1,Zm9yZ2Vk", "webhook-signature": "v1,Zm9yZ2Vk"}
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        first = await client.post("/webhooks", content=PAYLOAD, headers=delivery(0))
        refused = await client.post("/webhooks", content=PAYLOAD, headers=forged)
        again = await client.post("/webhooks", content=PAYLOAD, headers=delivery(2))
    assert first.json() == {"received": 1}
    assert refused.status_code == 400
    assert "signature" in refused.json()["detail"]
    assert again.json() == {"received": 1}
    assert again.headers["idempotent-replayed"] == "true"
