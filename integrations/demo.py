"""Three retry stories, played over real HTTP against the example apps.

Run ``python -m integrations.demo`` for the FastAPI apps under uvicorn, or add
``--framework django`` (the example project under Django's threaded ``runserver``
server) or ``--framework flask`` (the example shop under Werkzeug's threaded ``flask
run`` server). Each serves on 127.0.0.1 with its records and orders in SQLite files of a
temporary directory, and plays:

(a) a payment whose client times out while the first attempt is still running, then
    retries with the same key;
(b) a webhook the form service delivers five times with the same ``X-Delivery-Id``;
(c) three identical "buy" clicks sent at once.

For each it prints the requests and how many times the handler ran, counted in the
``orders`` table, and exits with status 1 unless every handler ran exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from integrations.demo_servers import SERVERS
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


async def _timed_out_payment(client: httpx.AsyncClient) -> Story:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = await _send(client, "/orders", headers, CLIENT_TIMEOUT)
    retry = await _send(client, "/orders", headers, REQUEST_TIMEOUT)
    return Story(
        "(a) A payment retried after the client timed out",
        f"payment takes {PAYMENT_SECONDS:.1f} s, the client gives up after {CLIENT_TIMEOUT} s "
        "and retries at once with the same Idempotency-Key",
        [first, retry],
        await _count(client, key),
    )


async def _repeated_webhook(client: httpx.AsyncClient) -> Story:
    delivery = f"dlv_{uuid.uuid4().hex}"
    attempts = [
        await _send(client, "/webhooks/forms", {DELIVERY_HEADER: delivery}, REQUEST_TIMEOUT)
        for _ in range(5)
    ]
    return Story(
        "(b) A form webhook delivered five times",
        f"the form service sends one submission five times with {DELIVERY_HEADER}: {delivery}",
        attempts,
        await _count(client, delivery),
    )


async def _triple_click(client: httpx.AsyncClient) -> Story:
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    attempts = await asyncio.gather(
        *(_send(client, "/orders", headers, REQUEST_TIMEOUT) for _ in range(3))
    )
    return Story(
        '(c) Three "buy" clicks at once',
        "a slow page sends the same checkout three times at once, with one Idempotency-Key",
        attempts,
        await _count(client, key),
    )


async def _count(client: httpx.AsyncClient, key: str) -> int:
    """How many orders the requests carrying ``key`` placed: how often a handler ran."""
    response = await client.get("/orders/count", params={"key": key})
    response.raise_for_status()
    return int(response.json()["count"])


async def _play(base_url: str) -> list[Story]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return [
            await _timed_out_payment(client),
            await _repeated_webhook(client),
            await _triple_click(client),
        ]


NAMES = {
    "fastapi": "the FastAPI example apps",
    "django": "the example Django project",
    "flask": "the example Flask shop",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrations.demo", description=__doc__)
    parser.add_argument(
        "--framework",
        choices=sorted(SERVERS),
        default="fastapi",
        help="the example app to play against (default: fastapi)",
    )
    framework = parser.parse_args(argv).framework
    with tempfile.TemporaryDirectory(prefix="idempotency-demo-") as directory:
        serving = SERVERS[framework](
            Path(directory), payment=PAYMENT_SECONDS, wait_timeout=WAIT_TIMEOUT
        )
        with serving as base_url:
            print(f"Serving {NAMES[framework]} on {base_url}\n")
            stories = asyncio.run(_play(base_url))
    print("\n\n".join(story.render() for story in stories))
    return 0 if all(story.runs == 1 for story in stories) else 1


if __name__ == "__main__":
    sys.exit(main())
