"""Byte encodings of stored header lists, shared by the stores that serialise records."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from idempotency_middleware.errors import RecordDecodeError
from idempotency_middleware.records import Headers, Record, RecordState, StoredResponse

__all__ = ["FORMAT_VERSION", "RECORD_COLUMNS", "decode_headers", "decode_row", "encode_headers"]

FORMAT_VERSION = 1
"""Written with every serialised record; a store refuses records of another version."""


# One encoder for every record: json.dumps builds a new one whenever separators are given.
_COMPACT = json.JSONEncoder(separators=(",", ":"))


def encode_headers(headers: Headers) -> bytes:
    """Encode header lines, keeping order and repeated names.

    Latin-1 maps every byte to one code point, so any header value, binary included,
    survives the round trip through JSON.
    """
    return _COMPACT.encode(
        [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]
    ).encode("ascii")


def decode_headers(data: bytes) -> Headers:
    """Decode what :func:`encode_headers` wrote; :class:`RecordDecodeError` otherwise."""
    try:
        pairs = json.loads(data)
        return tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs)
    except (ValueError, TypeError, AttributeError, UnicodeEncodeError) as exc:
        raise RecordDecodeError(f"stored headers cannot be decoded: {exc}") from exc


RECORD_COLUMNS = (
    "state",
    "owner",
    "fingerprint",
    "expires_at",
    "status",
    "headers",
    "body",
    "replayable",
    "format_version",
)
"""The columns a SQL store reads a record from, in the order :func:`decode_row` takes."""


def decode_row(row: Sequence[Any]) -> Record:
    """Decode a row of :data:`RECORD_COLUMNS`; :class:`RecordDecodeError` when it is not a
    record this version wrote."""
    state, owner, fingerprint, expires_at, status, headers, body, replayable, version = row
    if version != FORMAT_VERSION:
        raise RecordDecodeError(
            f"stored record has format version {version}, this version reads {FORMAT_VERSION}"
        )
    try:
        record_state = RecordState(state)
    except ValueError as exc:
        raise RecordDecodeError(f"stored record has an unknown state {state!r}") from exc
    response = None
    if record_state is RecordState.COMPLETED and replayable:
        if status is None or headers is None or body is None:
            raise RecordDecodeError("stored record is replayable but lacks its response")
        response = StoredResponse(int(status), decode_headers(bytes(headers)), bytes(body))
    return Record(record_state, str(fingerprint), str(owner), float(expires_at), response)
