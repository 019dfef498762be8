"""The clock that leases and retention are measured with.

Stores take a clock so tests can move time; production code uses the wall clock,
because leases must mean the same instant to every worker process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "system_clock"]

Clock = Callable[[], float]
"""A function returning seconds since the epoch as a float."""


def system_clock() -> float:
    """Return the wall-clock time in seconds since the epoch."""
    return time.time()


class ManualClock:
    """A clock that only moves when told to, for tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds
