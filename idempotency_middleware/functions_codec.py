"""How an idempotent function's result is stored, and how its arguments are fingerprinted.

A codec turns the result into the bytes a record keeps and back; JSON by default. The
arguments are always fingerprinted as canonical JSON (sorted keys, no whitespace), so
every process derives the same fingerprint for the same call.
"""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

from idempotency_middleware.errors import IdempotencyError

__all__ = [
    "JSON",
    "ArgumentsNotEncodableError",
    "Codec",
    "JSONCodec",
    "canonical_arguments",
]


class ArgumentsNotEncodableError(IdempotencyError, TypeError):
    """The arguments of a call cannot be fingerprinted; raised before the call is claimed
    or run. Pass ``fingerprint=`` a function of the arguments that returns JSON values."""


@runtime_checkable
class Codec(Protocol):
    """Turns a function's result into bytes to store, and stored bytes back.

    ``encode`` raises (any exception) for a value it cannot store; ``decode`` reads what
    ``encode`` wrote, in any process. A codec that unpickles what it reads would run
    whatever a writer of the store put there: prefer formats that only hold data.
    """

    def encode(self, value: Any) -> bytes:
        """The bytes that stand for ``value``."""
        ...

    def decode(self, data: bytes) -> Any:
        """The value ``data`` stands for."""
        ...


class JSONCodec:
    """Results as JSON: dicts, lists, strings, numbers, booleans and None.

    What JSON cannot hold is refused (a set, a datetime, NaN, an object), so it is
    never stored as something else. JSON has no tuples and only string keys: a tuple
    comes back as a list, and the key ``1`` as ``"1"``.
    """

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), allow_nan=False).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data)

    def __repr__(self) -> str:
        return "JSONCodec()"


JSON = JSONCodec()
"""The default codec."""


def canonical_arguments(value: Any, function: str) -> bytes:
    """``value`` (the arguments, or what ``fingerprint=`` made of them) as canonical JSON:
    equal values give equal bytes, whatever the order of keyword arguments."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False
        ).encode("utf-8", "surrogateescape")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ArgumentsNotEncodableError(
            f"the arguments of {function} cannot be fingerprinted as JSON ({exc}); pass "
            "fingerprint= a function of the same arguments that returns what identifies "
            "the call as JSON values (ids, strings, numbers)"
        ) from exc
