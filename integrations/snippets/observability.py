"""Outcomes as JSON log lines and as counters, with the standard library only."""

from __future__ import annotations

import json
import logging
from collections import Counter

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.events import OutcomeEvent
from idempotency_middleware.stores import Store

__all__ = ["OUTCOMES", "JsonFormatter", "create_app", "log_as_json"]


# [start:logging]
class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the middleware's ``idempotency_*`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {k: v for k, v in vars(record).items() if k.startswith("idempotency_")}
        return json.dumps({"message": record.getMessage(), **fields})


def log_as_json(handler: logging.Handler) -> None:
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idempotency_middleware")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)  # every outcome; INFO and above: failures only
    # [end:logging]


# [start:metrics]
OUTCOMES: Counter[tuple[str, str]] = Counter()


def record(event: OutcomeEvent) -> None:
    # Runs in the request: count, and leave the rest to the metrics system.
    OUTCOMES[event.outcome, event.route] += 1
    # [end:metrics]


async def place_order(request: Request) -> JSONResponse:
    return JSONResponse(await request.json(), 201)


def create_app(store: Store) -> IdempotencyMiddleware:
    """An orders API that reports each outcome to :func:`record`."""
    app = Starlette(routes=[Route("/orders", place_order, methods=["POST"])])
    return IdempotencyMiddleware(app, store=store, on_outcome=record)
