"""What the operators' commands do and print, shared by ``python -m idempotency_middleware``,
``flask idempotency`` and ``manage.py idempotency`` (SEMANTICS section 8).

Each command takes a store and answers the text to print, or raises
:class:`CommandError` with a message that says what to do.
"""

from __future__ import annotations

import datetime
import re

from idempotency_middleware.errors import IdempotencyError
from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope, lookup_key
from idempotency_middleware.stores.base import Store

__all__ = [
    "NO_RECORD",
    "NO_TABLE",
    "SCOPE_HELP",
    "TABLE_READY",
    "CommandError",
    "forget",
    "init",
    "parse_scope",
    "purge",
    "record_lookup_key",
    "show",
    "stats",
]

TABLE_READY = "The idempotency table is ready."
NO_TABLE = "The idempotency store keeps no table: nothing to create."
NO_RECORD = (
    "no record for this key and scope: check the key, the --scope (whose key it is) and "
    "the secret; a record past its retention is gone"
)

SCOPE_HELP = (
    'Whose key it is, as the middleware derives it: "user:<id>" (the logged-in user\'s id), '
    '"anonymous" (no user, no Authorization header), '
    '"authorization:<SHA-256 hex of the Authorization header>", '
    '"auth:<Authorization header value>" (hashed here as the middleware does; mind your '
    "shell history), or what your own scope function returns."
)

_DIGEST = re.compile(r"[0-9a-f]{64}")


class CommandError(IdempotencyError):
    """A command cannot do what was asked; the message says what to do instead."""


def parse_scope(written: str) -> str:
    """The scope the middleware derives, from its written form (see :data:`SCOPE_HELP`)."""
    if written.startswith("authorization:"):
        digest = written.removeprefix("authorization:").lower()
        if not _DIGEST.fullmatch(digest):
            raise CommandError(
                "--scope authorization:<digest> takes the 64 hex digits of the SHA-256 of the "
                "Authorization header (printf %s 'Bearer ...' | sha256sum); or write "
                "auth:<header value> to have it hashed here"
            )
        return "auth:" + digest
    if written.startswith("auth:"):
        authorization = written.removeprefix("auth:")
        return default_scope(Request("POST", "/", headers=(("authorization", authorization),)))
    return written


def record_lookup_key(key: str, scope: str, secret: bytes | None) -> str:
    """The lookup key the record of ``key`` in the written ``scope`` is stored under."""
    return lookup_key(parse_scope(scope), key, secret)


def init(store: Store) -> str:
    """Create the store's table if it keeps one and it is missing."""
    create = getattr(store, "create_table", None)
    if create is None:
        return NO_TABLE
    create()
    return TABLE_READY


def purge(store: Store) -> str:
    """Delete expired records, a batch at a time where the store is SQL."""
    count = store.purge()
    return f"Purged {count} expired record{'' if count == 1 else 's'}."


def _when(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")


def _describe(record: Record) -> list[str]:
    # The body may hold personal data and the fingerprint is of no use to a reader:
    # only sizes and the replayed headers (never cookies) are shown.
    lines = [f"state: {record.state.value}"]
    if record.state is RecordState.IN_PROGRESS:
        lines.append(f"lease expires: {_when(record.expires_at)}")
        return lines
    lines.append(f"expires: {_when(record.expires_at)}")
    response = record.response
    if response is None:
        lines.append("response: not stored (too large or streamed); repeats get 409")
        return lines
    lines.append(f"status: {response.status}")
    lines.append("headers:")
    lines.extend(
        f"  {name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in response.headers
    )
    lines.append(f"body: {len(response.body)} bytes")
    return lines


def show(store: Store, lookup: str) -> str:
    """The record under ``lookup``: state, expiry, status, headers and body size."""
    record = store.get(lookup)
    if record is None:
        raise CommandError(NO_RECORD)
    return "\n".join(_describe(record))


def forget(store: Store, lookup: str) -> str:
    """Delete the record under ``lookup``, so the next request with its key runs."""
    if not store.forget(lookup):
        raise CommandError(NO_RECORD)
    return "Forgot the record."


def stats(store: Store) -> str:
    """The number of records by state."""
    counts = store.stats()
    if counts is None:
        raise CommandError(
            f"counting records is not supported by {type(store).__name__}: a cache cannot "
            "list its keys"
        )
    return (
        f"in progress: {counts.in_progress}\n"
        f"completed: {counts.completed}\n"
        f"expired, not yet purged: {counts.expired}"
    )
