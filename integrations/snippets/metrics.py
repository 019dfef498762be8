"""Counting outcomes by name and route, with the standard library only."""

from __future__ import annotations

# [start:metrics]
from collections import Counter

from idempotency_middleware.outcomes import OutcomeEvent

OUTCOMES: Counter[tuple[str, str]] = Counter()


def record(event: OutcomeEvent) -> None:
    # Runs in the request: count, and leave the rest to the metrics system.
    OUTCOMES[event.outcome, event.route] += 1


# [end:metrics]
__all__ = ["OUTCOMES", "record"]
