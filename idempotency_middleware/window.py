"""Keyless de-duplication: the key the middleware makes for a covered request that
brought none, on a route with an ``auto_window``."""

from __future__ import annotations

from typing import Any

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.fingerprint import key_only

__all__ = ["WINDOW_PREFIX", "WindowKey", "checked_window", "window_key"]

WINDOW_PREFIX = "auto:"


class WindowKey(str):
    """A key made from the request's fingerprint rather than sent by the client.

    A ``str`` so that every adapter passes it from ``protocol.admit`` to
    ``protocol.exchange`` untouched; its type tells the exchange to keep the record for
    ``auto_window`` seconds rather than ``ttl``.
    """

    __slots__ = ()

    @property
    def fingerprint(self) -> str:
        """The fingerprint the key was made from, so the exchange need not hash the
        request a second time."""
        return self[len(WINDOW_PREFIX) :]


def window_key(fingerprint: str) -> WindowKey:
    """The key of a keyless request with ``fingerprint``. Not a secret: the lookup key
    scopes it to the caller, so two callers' identical writes never share a record."""
    return WindowKey(WINDOW_PREFIX + fingerprint)


def checked_window(seconds: float, fingerprint: Any) -> float:
    """``seconds``, once sure the ``fingerprint`` option tells writes apart."""
    if fingerprint in ("key-only", key_only):
        raise ConfigurationError(
            "auto_window needs a fingerprint of the request, not 'key-only': every keyless "
            "write of a caller would be answered with the first one's result"
        )
    return seconds
