"""Byte encodings of stored header lists, shared by the stores that serialise records."""

from __future__ import annotations

import json

from idempotency_middleware.errors import RecordDecodeError
from idempotency_middleware.records import Headers

__all__ = ["FORMAT_VERSION", "decode_headers", "encode_headers"]

FORMAT_VERSION = 1
"""Written with every serialised record; a store refuses records of another version."""


def encode_headers(headers: Headers) -> bytes:
    """Encode header lines, keeping order and repeated names.

    Latin-1 maps every byte to one code point, so any header value, binary included,
    survives the round trip through JSON.
    """
    return json.dumps(
        [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers],
        separators=(",", ":"),
    ).encode("ascii")


def decode_headers(data: bytes) -> Headers:
    """Decode what :func:`encode_headers` wrote; :class:`RecordDecodeError` otherwise."""
    try:
        pairs = json.loads(data)
        return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs)
    except (ValueError, TypeError, AttributeError, UnicodeEncodeError) as exc:
        raise RecordDecodeError(f"stored headers cannot be decoded: {exc}") from exc
