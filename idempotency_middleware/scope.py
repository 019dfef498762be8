"""Whose key is it: the caller's scope, and the lookup key derived from it (SEMANTICS 3)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.request import Request

__all__ = ["ANONYMOUS_SCOPE", "ScopeFunction", "checked_scope", "default_scope", "lookup_key"]

ScopeFunction = Callable[[Request], "str | None"]
"""A function of the request naming the caller; None for a caller it cannot name."""

ANONYMOUS_SCOPE = "anonymous"


def default_scope(request: Request) -> str:
    """The authenticated principal, else a digest of ``Authorization``, else anonymous.

    The raw credential never leaves this function: only its digest takes part, and the
    scope itself is only ever hashed into the lookup key.
    """
    if request.principal is not None:
        return "user:" + request.principal
    authorization = request.header("authorization")
    if authorization:
        return "auth:" + hashlib.sha256(authorization.encode("latin-1", "replace")).hexdigest()
    return ANONYMOUS_SCOPE


def checked_scope(function: ScopeFunction) -> Callable[[Request], str]:
    """``function``, with None read as the anonymous scope.

    Any other value but a str raises ConfigurationError before the request runs: read
    as text, an object could name another caller's scope, or a new one in each process.
    """

    def scope(request: Request) -> str:
        value = function(request)
        if value is None:
            return ANONYMOUS_SCOPE
        if not isinstance(value, str):
            raise ConfigurationError(
                f"scope: the function {function!r} returned a {type(value).__name__}; a "
                "scope function must return a str naming the caller, or None for the "
                "anonymous scope"
            )
        return value

    return scope


def lookup_key(scope: str, key: str, secret: bytes | None) -> str:
    """The 64-character hex key a record is stored under.

    An HMAC with ``secret`` where one is configured, else a plain SHA-256: never a
    per-process random secret, since every worker must find the same record.
    """
    scope_bytes = scope.encode("utf-8", "surrogateescape")
    key_bytes = key.encode("utf-8", "surrogateescape")
    message = (
        len(scope_bytes).to_bytes(8, "big")
        + scope_bytes
        + len(key_bytes).to_bytes(8, "big")
        + key_bytes
    )
    if secret is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
