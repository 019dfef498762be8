"""Byte encodings of stored header lists, shared by the stores that serialise records."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from idempotency_middleware.errors import RecordDecodeError
from idempotency_middleware.records import Headers, Record, RecordState, StoredResponse

__all__ = [
    "FORMAT_VERSION",
    "RECORD_COLUMNS",
    "decode_headers",
    "decode_response",
    "decode_row",
    "encode_headers",
]

FORMAT_VERSION = 1
"""Written with every serialised record; a store refuses records of another version."""


# One encoder for every record: json.dumps builds a new one whenever separators are given.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
# What a framework can have delivered (RFC 9110 field names and values): anything else in
# a store was not written by this package, and would break the response, or inject
# header lines into it, when replayed.
_FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[^\r\n\x00]*")


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
        if not isinstance(pairs, list):
            raise TypeError(f"a JSON {type(pairs).__name__}, not a list")
        headers = tuple((name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        # RecursionError: JSON nested deeper than the parser goes.
        raise RecordDecodeError(f"stored headers cannot be decoded: {exc}") from exc
    for name, value in headers:
        if not _FIELD_NAME.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
            raise RecordDecodeError(f"stored header {name!r:.60} is not a valid header line")
    return headers


def decode_response(status: object, headers: object, body: object) -> StoredResponse:
    """The stored response of a record, from the values a store read for it;
    :class:`RecordDecodeError` unless they are a response this package could have
    stored."""
    try:
        code = int(status)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise RecordDecodeError(f"stored status {status!r:.40} is not a number") from exc
    if not 100 <= code <= 599:
        raise RecordDecodeError(f"stored status {code} is not an HTTP status")
    if not isinstance(headers, (bytes, bytearray, memoryview)) or not isinstance(
        body, (bytes, bytearray, memoryview)
    ):
        raise RecordDecodeError("stored headers and body are not bytes")
    return StoredResponse(code, decode_headers(bytes(headers)), bytes(body))


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
        response = decode_response(status, headers, body)
    try:
        ends = float(expires_at)
    except (TypeError, ValueError) as exc:
        raise RecordDecodeError(f"stored expiry {expires_at!r:.40} is not a number") from exc
    return Record(record_state, str(fingerprint), str(owner), ends, response)
