"""What the middleware reports about the requests it handles (SEMANTICS section 8).

Each outcome is one event of the ``idempotency_middleware`` logger, its fields attached
to the log record as attributes (``extra``) so that JSON formatters emit them, and one
:class:`~idempotency_middleware.outcomes.OutcomeEvent` for the ``on_outcome`` callback
and OpenTelemetry. Keys and scopes appear only as digest prefixes; raw keys,
credentials and bodies never.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import TYPE_CHECKING

from idempotency_middleware.outcomes import OutcomeEvent

if TYPE_CHECKING:
    from idempotency_middleware.options import Options
    from idempotency_middleware.request import Request

__all__ = ["Report", "log_outcome", "logger"]

logger = logging.getLogger("idempotency_middleware")

_LEVELS = {
    "fail-open": logging.ERROR,
    "store-unavailable": logging.ERROR,
    "record-undecodable": logging.ERROR,
    "completion-failed": logging.ERROR,
    "release-failed": logging.ERROR,
    "lease-lost": logging.WARNING,
    "renewal-failed": logging.WARNING,
}

_DIGEST_CHARS = 16
"""Enough of a digest to tell records apart in logs, too little to stand for the key."""


def log_outcome(outcome: str, key_digest: str = "") -> None:
    """Log an outcome that belongs to no request (the lease renewer's)."""
    level = _LEVELS.get(outcome, logging.DEBUG)
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "idempotency %s",
            outcome,
            extra={
                "idempotency_outcome": outcome,
                "idempotency_key_digest": key_digest[:_DIGEST_CHARS],
            },
        )


def _scope_digest(options: Options, request: Request) -> str:
    scope = options.scope(request).encode("utf-8", "surrogateescape")
    # Keyed like lookup keys: a plain digest of "user:42" is easy to reverse.
    if options.secret is None:
        return hashlib.sha256(b"scope\0" + scope).hexdigest()[:_DIGEST_CHARS]
    return hmac.new(options.secret, b"scope\0" + scope, hashlib.sha256).hexdigest()[:_DIGEST_CHARS]


class Report:
    """Reports the outcomes of one request: to the logger and to the options' listeners.

    Made once the request's body is read; the fields are only computed when a listener
    is set or the logger is enabled for the outcome's level.
    """

    __slots__ = ("_options", "_request", "_route", "_started")

    def __init__(self, options: Options, request: Request, route: str | None = None) -> None:
        self._options = options
        self._request = request
        self._route = route
        self._started = time.perf_counter()

    def __call__(self, outcome: str, status: int | None, lookup_key: str = "") -> None:
        """Report ``outcome``; ``lookup_key`` is the record's key once it was claimed."""
        level = _LEVELS.get(outcome, logging.DEBUG)
        listeners = self._options.listeners
        logged = logger.isEnabledFor(level)
        if not (logged or listeners):
            return
        event = self.event(outcome, status, lookup_key)
        if logged:
            logger.log(
                level,
                "idempotency %s: %s %s",
                outcome,
                event.method,
                event.route,
                extra={
                    "idempotency_outcome": outcome,
                    "idempotency_key_digest": event.key_digest,
                    "idempotency_scope_digest": event.scope_digest,
                    "idempotency_route": event.route,
                    "idempotency_method": event.method,
                    "idempotency_status": status,
                    "idempotency_duration_ms": round(event.duration * 1000, 3),
                },
            )
        for listener in listeners:
            listener(event)

    def event(self, outcome: str, status: int | None, lookup_key: str = "") -> OutcomeEvent:
        """The :class:`OutcomeEvent` of ``outcome``."""
        request = self._request
        return OutcomeEvent(
            outcome=outcome,
            route=self._route or self._options.route_of(request.path),
            method=request.method,
            status=status,
            duration=time.perf_counter() - self._started,
            replayed=outcome == "replayed",
            key_digest=lookup_key[:_DIGEST_CHARS],
            scope_digest=_scope_digest(self._options, request) if lookup_key else "",
        )
