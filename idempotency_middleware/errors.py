"""Exceptions raised by idempotency_middleware.

Every exception carries the HTTP status it maps to, so an adapter that meets one
outside the normal flow still knows what to answer.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "IdempotencyError",
    "RecordDecodeError",
    "StoreError",
]


class IdempotencyError(Exception):
    """Base class of every exception this package raises."""

    status: int = 500


class ConfigurationError(IdempotencyError, ValueError):
    """An option or setting is missing or wrong; raised at start-up, or, for what a
    ``scope`` or ``fingerprint`` function returns, at the request, before it runs.

    The message names the option and says what to write instead.
    """


class StoreError(IdempotencyError):
    """The store could not be reached or did not answer in time.

    Stores wrap every driver error in this type, so adapters handle one exception
    whatever the backend (answered as 503 ``store-unavailable`` when failing closed).
    """

    status = 503


class RecordDecodeError(StoreError):
    """A stored record could not be decoded (corrupted, or written by another format version)."""
