"""Django REST framework's token authentication: keys belong to the token's user.

DRF authenticates inside the view, after every middleware has run; the middleware sees
an anonymous ``request.user`` and scopes a token caller's keys by a digest of the
``Authorization`` header. This scope function files them under the token's user instead,
as ``user:<pk>``, the scope of the same user signed in with a session.
"""

from __future__ import annotations

# [start:scope]
from idempotency_middleware import Request
from idempotency_middleware.scope import default_scope


def token_user_scope(request: Request) -> str:
    """``user:<pk>`` for a caller with a DRF token, else the default scope."""
    from rest_framework.authtoken.models import Token

    keyword, _, key = (request.header("authorization") or "").partition(" ")
    if keyword.lower() == "token" and key.strip():
        tokens = Token.objects.filter(key=key.strip())
        user_id = tokens.values_list("user_id", flat=True).first()
        if user_id is not None:
            return f"user:{user_id}"
    return default_scope(request)


# [end:scope]
__all__ = ["token_user_scope"]
