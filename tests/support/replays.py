"""The one check that a response is a replay, for every test client."""

from __future__ import annotations

from typing import Any

__all__ = ["is_replay"]


def is_replay(response: Any) -> bool:
    """True if ``response`` (httpx, Django or Flask) carries ``Idempotent-Replayed: true``."""
    return bool(response.headers.get("Idempotent-Replayed") == "true")
