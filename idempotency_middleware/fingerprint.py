"""Is a repeat the same request? The fingerprint answers it (SEMANTICS section 4).

A fingerprint function takes the neutral request and returns a string; two requests
with one key and different fingerprints are answered 422 ``key-reused``. What a
function of the user returns is stored as its SHA-256 (:func:`digested`), so every store
holds the same 64 characters whatever its length.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlencode

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.multipart import multipart_parts
from idempotency_middleware.request import Request

__all__ = ["FingerprintFunction", "RequestFingerprint", "canonical_query", "digested", "key_only"]

FingerprintFunction = Callable[[Request], str]


_LENGTH = struct.Struct(">Q").pack


def _frame(parts: list[bytes]) -> bytes:
    # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    framed = []
    for part in parts:
        framed.append(_LENGTH(len(part)))
        framed.append(part)
    return b"".join(framed)


def canonical_query(query_string: str) -> str:
    """The query string with its parameters sorted, so ``?b=1&a=2`` equals ``?a=2&b=1``."""
    return urlencode(sorted(parse_qsl(query_string, keep_blank_values=True)))


class RequestFingerprint:
    """SHA-256 over method, path, canonical query, Content-Type and body.

    A multipart form is hashed part by part, without its boundary, which browsers draw
    anew for each submission of the same form; a body in which no part is found is
    hashed as it is. ``headers`` adds the named headers' values. With
    ``canonical_json`` a JSON body is hashed after sorting its keys and dropping
    whitespace, so clients that re-serialise the same document are not answered 422; a
    body that does not parse (not JSON, or nested too deeply) is hashed as it is.
    """

    def __init__(self, *, headers: Iterable[str] = (), canonical_json: bool = False) -> None:
        self.headers = tuple(name.lower() for name in headers)
        self.canonical_json = canonical_json

    def _body(self, request: Request, content_type: str) -> bytes:
        if content_type == "multipart/form-data":
            try:
                parts = multipart_parts(request.body, request.header("content-type") or "")
            except ValueError:
                return request.body
            if not parts:
                return request.body
            return _frame([_frame([head, content]) for head, content in parts])
        if self.canonical_json and request.body:
            try:
                document = request.json()
                return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
            except (ValueError, UnicodeDecodeError, RecursionError):
                # RecursionError: a document parsed just under the limit can still be
                # too deep to serialise from the stack depth this runs at.
                return request.body
        return request.body

    def __call__(self, request: Request) -> str:
        content_type = request.content_type
        query = request.query_string
        plain = content_type != "multipart/form-data" and not self.canonical_json
        parts = [
            request.method.encode(),
            request.path.encode("utf-8", "surrogateescape"),
            canonical_query(query).encode() if query else b"",
            content_type.encode("latin-1", "replace"),
            request.body if plain else self._body(request, content_type),
        ]
        for name in self.headers:
            parts.append("\n".join(request.header_values(name)).encode("latin-1", "replace"))
        return hashlib.sha256(_frame(parts)).hexdigest()


def key_only(request: Request) -> str:
    """A fingerprint that ignores the request: every repeat of a key matches.

    For webhook providers that re-render the payload of a redelivery, where a 422 would
    count as a failed delivery.
    """
    return "key-only"


def digested(function: Callable[[Request], object]) -> FingerprintFunction:
    """``function``, with what it returns stored as its SHA-256 in hex.

    A fingerprint function of the user may return a string of any length (a column of
    64 characters would refuse a longer one); ConfigurationError when it returns
    anything but a str.
    """

    def fingerprint(request: Request) -> str:
        value = function(request)
        if not isinstance(value, str):
            raise ConfigurationError(
                f"fingerprint: the function {function!r} returned a {type(value).__name__}; "
                "a fingerprint function must return a str"
            )
        encoded = value.encode("utf-8", "surrogateescape")
        return hashlib.sha256(b"fingerprint\0" + encoded).hexdigest()

    return fingerprint
