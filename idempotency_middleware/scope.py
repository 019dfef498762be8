"""Whose key is it: the caller's scope, and the lookup key derived from it (SEMANTICS 3)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from idempotency_middleware.request import Request

__all__ = ["ANONYMOUS_SCOPE", "ScopeFunction", "default_scope", "lookup_key"]

ScopeFunction = Callable[[Request], str]

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
