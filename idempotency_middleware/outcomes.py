"""What ``on_outcome`` and OpenTelemetry receive about each request (SEMANTICS section 8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["OutcomeCallback", "OutcomeEvent"]


@dataclass(frozen=True)
class OutcomeEvent:
    """The outcome of one request, as ``on_outcome`` receives it.

    ``outcome`` is a name of SEMANTICS section 8 (``"executed"``, ``"replayed"``,
    ``"mismatch"``, ``"in-progress"``, ``"key-invalid"``, ...). ``route`` is the path
    template the request matched (the framework's route in Django and Flask, else one
    of the ``include`` or ``required`` templates), otherwise its path. ``status`` is
    the status answered; None when the middleware failed open and let the app answer.
    ``duration`` is in seconds, from the moment the request's body was read to the
    outcome. ``key_digest`` and ``scope_digest`` are prefixes of digests of the key and
    of the caller's scope, empty when the answer came before a key was read.
    """

    outcome: str
    route: str
    method: str
    status: int | None
    duration: float
    replayed: bool
    key_digest: str
    scope_digest: str


OutcomeCallback = Callable[[OutcomeEvent], None]
"""A function called once per outcome, such as ``on_outcome``."""
