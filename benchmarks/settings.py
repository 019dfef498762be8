"""What a run measures and for how long: the scenarios, the modes, the services."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

__all__ = [
    "CONCURRENCY",
    "FULL",
    "POSTGRES_URL",
    "QUICK",
    "REDIS_URL",
    "SCENARIOS",
    "Mode",
    "Scenario",
    "run_tag",
]

POSTGRES_URL = os.environ.get(
    "IDEMPOTENCY_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("IDEMPOTENCY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

CONCURRENCY = (1, 16)
"""Requests in flight: one at a time, then sixteen."""


@dataclass(frozen=True)
class Scenario:
    """One kind of request: ``fresh`` claims, runs and completes a new key each time;
    ``replay`` sends a completed key again; ``nokey`` is a GET passing through."""

    name: str
    method: str
    path: str
    keyed: bool
    new_key_each_time: bool


SCENARIOS = (
    Scenario("fresh", "POST", "/orders", keyed=True, new_key_each_time=True),
    Scenario("replay", "POST", "/orders", keyed=True, new_key_each_time=False),
    Scenario("nokey", "GET", "/orders/42", keyed=False, new_key_each_time=False),
)


@dataclass(frozen=True)
class Mode:
    """How long each measurement lasts.

    A cell is one variant on one scenario at one concurrency, in one round; every round
    measures every cell once, in a rotated order, so drift on a shared machine falls on
    all variants alike. ``cell_seconds`` sizes the in-process cells (their request count
    is calibrated once, then fixed); ``http_seconds`` is the length of one wrk run.
    """

    name: str
    rounds: int
    cell_seconds: float
    warmup_seconds: float
    http_rounds: int
    http_seconds: int
    wire_requests: int


QUICK = Mode(
    "quick",
    rounds=2,
    cell_seconds=0.12,
    warmup_seconds=0.05,
    http_rounds=1,
    http_seconds=1,
    wire_requests=20,
)
FULL = Mode(
    "full",
    rounds=5,
    cell_seconds=0.5,
    warmup_seconds=0.15,
    http_rounds=3,
    http_seconds=2,
    wire_requests=60,
)


def run_tag() -> str:
    """A name no other run, test or engineer uses: Redis key prefixes, table names."""
    return f"bench_{os.getpid()}_{secrets.token_hex(3)}"
