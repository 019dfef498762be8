"""RFC 9457 problem details for every answer the middleware gives in place of the app.

Each problem has a stable ``type`` URI that points to the page describing it, a
``title``, a ``detail`` telling the client what to do, and a ``retryable`` member
(SEMANTICS section 7).
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass

from idempotency_middleware.records import StoredResponse

__all__ = ["PROBLEM_BASE_URI", "Problem", "ProblemType"]

PROBLEM_BASE_URI = "https://idempotency-middleware.readthedocs.io/en/latest/problems/"


class ProblemType(enum.Enum):
    """The problems the middleware answers, as (slug, status, title, retryable)."""

    KEY_MISSING = ("key-missing", 400, "Idempotency key missing", False)
    KEY_INVALID = ("key-invalid", 400, "Idempotency key invalid", False)
    KEY_REUSED = ("key-reused", 422, "Idempotency key reused with another request", False)
    REQUEST_IN_PROGRESS = ("request-in-progress", 409, "Request in progress", True)
    RESPONSE_NOT_REPLAYABLE = (
        "response-not-replayable",
        409,
        "Original response cannot be replayed",
        False,
    )
    REQUEST_TOO_LARGE = ("request-too-large", 413, "Request body too large", False)
    STORE_UNAVAILABLE = ("store-unavailable", 503, "Idempotency store unavailable", True)

    @property
    def slug(self) -> str:
        return self.value[0]

    @property
    def status(self) -> int:
        return self.value[1]

    @property
    def title(self) -> str:
        return self.value[2]

    @property
    def retryable(self) -> bool:
        return self.value[3]

    @property
    def uri(self) -> str:
        return PROBLEM_BASE_URI + self.slug + "/"


@dataclass(frozen=True)
class Problem:
    """One problem answer; ``retry_after`` (seconds) becomes a ``Retry-After`` header."""

    type: ProblemType
    detail: str
    retry_after: float | None = None

    def response(self) -> StoredResponse:
        """Render as an ``application/problem+json`` response."""
        body = json.dumps(
            {
                "type": self.type.uri,
                "title": self.type.title,
                "status": self.type.status,
                "detail": self.detail,
                "retryable": self.type.retryable,
            },
            separators=(",", ":"),
        ).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if self.retry_after is not None:
            seconds = max(1, math.ceil(self.retry_after))
            headers.append((b"retry-after", str(seconds).encode()))
        return StoredResponse(self.type.status, tuple(headers), body)
