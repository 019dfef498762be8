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
from typing import Any

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.records import StoredResponse

__all__ = ["PROBLEM_BASE_URI", "Problem", "ProblemType", "problem_base_uri"]

PROBLEM_BASE_URI = "https://idempotency-middleware.readthedocs.io/en/latest/problems/"
"""Where the ``type`` URIs point by default: the problem pages of the docs site. The
``problem_base_uri`` option names another, such as the app's own copy of the pages."""


def problem_base_uri(value: Any) -> str:
    """``value`` checked as the ``problem_base_uri`` option: a URI, absolute or relative to
    the API, that each problem's slug and a slash are appended to."""
    if (
        not isinstance(value, str)
        or not value
        or any(character.isspace() or not character.isprintable() for character in value)
    ):
        raise ConfigurationError(
            "problem_base_uri must be a URI that each problem's slug is appended to, such "
            f"as 'https://docs.example.com/problems/' or '/problems/', not {value!r}"
        )
    return value


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
    """One problem answer; ``retry_after`` (seconds) becomes a ``Retry-After`` header, and
    the ``type`` URI is ``base`` followed by the problem's slug and a slash."""

    type: ProblemType
    detail: str
    retry_after: float | None = None
    base: str = PROBLEM_BASE_URI

    def response(self) -> StoredResponse:
        """Render as an ``application/problem+json`` response."""
        body = json.dumps(
            {
                "type": f"{self.base}{self.type.slug}/",
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
