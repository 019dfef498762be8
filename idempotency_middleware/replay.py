"""What is stored of a response and how it is replayed (SEMANTICS section 6)."""

from __future__ import annotations

from idempotency_middleware.records import Headers, StoredResponse

__all__ = [
    "DEFAULT_NOT_STORED",
    "is_storable",
    "replay",
    "storable_headers",
]

DEFAULT_NOT_STORED = frozenset({401, 403, 407, 408, 409, 425, 429})
"""Statuses below 500 that are not stored: a retry of them should run again."""

_NEVER_STORED = frozenset(
    {
        b"set-cookie",
        b"date",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"transfer-encoding",
        b"upgrade",
        b"te",
        b"trailer",
    }
)


def is_storable(status: int, not_stored: frozenset[int] = DEFAULT_NOT_STORED) -> bool:
    """True if a response with ``status`` completes the record; else the claim is released."""
    return status < 500 and status not in not_stored


def storable_headers(headers: Headers) -> Headers:
    """The header lines kept for replay: cookies (credentials), ``Date``, hop-by-hop
    headers and those named by ``Connection`` are dropped; ``Content-Length`` is
    recomputed at replay."""
    lowered = [(name.lower(), value) for name, value in headers]
    dropped = _NEVER_STORED
    for name, value in lowered:
        if name == b"connection":
            dropped = dropped.union(token.strip().lower() for token in value.split(b","))
    return tuple([line for line in lowered if line[0] not in dropped])


def replay(stored: StoredResponse) -> StoredResponse:
    """The response sent to a duplicate: the stored one, with ``Content-Length`` and
    ``Idempotent-Replayed: true`` added."""
    length: Headers = ()
    # RFC 9110 section 8.6: no Content-Length on 1xx, 204 and 304.
    if stored.status >= 200 and stored.status not in (204, 304):
        length = ((b"content-length", str(len(stored.body)).encode()),)
    headers = (*stored.headers, *length, (b"idempotent-replayed", b"true"))
    return StoredResponse(stored.status, headers, stored.body)
