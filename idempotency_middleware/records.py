"""The values a store keeps and hands back: responses, records and claim outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Claim", "Record", "RecordState", "StoredResponse"]

Headers = tuple[tuple[bytes, bytes], ...]
"""Header lines in the order the framework delivered them; names lower-cased bytes."""


@dataclass(frozen=True)
class StoredResponse:
    """A response as it is stored and replayed (SEMANTICS section 6).

    ``headers`` already excludes what is never replayed (``Set-Cookie``, ``Date``,
    hop-by-hop headers, ``Content-Length``).
    """

    status: int
    headers: Headers
    body: bytes


class RecordState(str, enum.Enum):
    """Where a record is in its life (SEMANTICS section 5)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
