"""The values a store keeps and hands back: responses, records and claim outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["Claim", "Record", "RecordState", "StoredResponse"]

Headers = tuple[tuple[bytes, bytes], ...]
"""Header lines in the order the framework delivered them; names lower-cased bytes."""

# These values are made on every request, and a frozen dataclass's own __init__ sets
# each field through object.__setattr__, which looks the name up on every call. Each
# class below takes its fields' slot descriptors instead (``_setters``): half the cost,
# and still frozen for everyone else.


def _setters(cls: type, *names: str) -> tuple[Any, ...]:
    return tuple(vars(cls)[name].__set__ for name in names)


@dataclass(frozen=True, slots=True, init=False)
class StoredResponse:
    """A response as it is stored and replayed (SEMANTICS section 6).

    ``headers`` already excludes what is never replayed (``Set-Cookie``, ``Date``,
    hop-by-hop headers, ``Content-Length``).
    """

    status: int
    headers: Headers
    body: bytes

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        _set_status(self, status)
        _set_headers(self, headers)
        _set_body(self, body)


_set_status, _set_headers, _set_body = _setters(StoredResponse, "status", "headers", "body")


class RecordState(str, enum.Enum):
    """Where a record is in its life (SEMANTICS section 5)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True, init=False)
class Record:
    """One idempotency record, as a store returns it.

    ``expires_at`` is the lease expiry while in progress and the retention expiry once
    completed, in seconds since the epoch on the store's clock. A completed record whose
    ``response`` is None completed without a replayable body (too large or streamed).
    """

    state: RecordState
    fingerprint: str
    owner: str
    expires_at: float
    response: StoredResponse | None = None

    def __init__(
        self,
        state: RecordState,
        fingerprint: str,
        owner: str,
        expires_at: float,
        response: StoredResponse | None = None,
    ) -> None:
        _set_state(self, state)
        _set_fingerprint(self, fingerprint)
        _set_owner(self, owner)
        _set_expires_at(self, expires_at)
        _set_response(self, response)


_set_state, _set_fingerprint, _set_owner, _set_expires_at, _set_response = _setters(
    Record, "state", "fingerprint", "owner", "expires_at", "response"
)


@dataclass(frozen=True, slots=True, init=False)
class Claim:
    """What a claim returned.

    ``claimed`` is True when the caller now owns the key: a new key, a takeover of an
    expired lease or record, or a re-sent claim that found its own owner token. Otherwise
    ``record`` is the record that stands. ``now`` is the store's clock at the claim, so
    the caller can compute the time left on a lease without a clock of its own.
    """

    claimed: bool
    record: Record | None
    now: float

    def __init__(self, claimed: bool, record: Record | None, now: float) -> None:
        _set_claimed(self, claimed)
        _set_record(self, record)
        _set_now(self, now)


_set_claimed, _set_record, _set_now = _setters(Claim, "claimed", "record", "now")
