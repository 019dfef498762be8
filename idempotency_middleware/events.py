"""The log events of the ``idempotency_middleware`` logger (SEMANTICS section 8).

One event per outcome; keys appear only as a prefix of their lookup digest, never raw.
"""

from __future__ import annotations

import logging

__all__ = ["log_outcome", "logger"]

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


def log_outcome(outcome: str, key_digest: str = "") -> None:
    """Log one outcome: errors and lost leases loudly, the ordinary ones at DEBUG."""
    level = _LEVELS.get(outcome, logging.DEBUG)
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "idempotency %s",
            outcome,
            extra={"idempotency_outcome": outcome, "idempotency_key_digest": key_digest[:16]},
        )
