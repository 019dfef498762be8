"""RFC 9457 problem details for every answer the middleware gives in place of the app.

Each problem has a stable ``type`` URI that points to the page describing it, a
``title``, a ``detail`` telling the client what to do, and a ``retryable`` member
(SEMANTICS section 7). With ``error_format="stripe"`` the same problems are rendered in
the shape and with the statuses of Stripe's API errors, which Stripe-style SDKs turn
into their own exceptions (``stripe.IdempotencyError``); a callable ``error_format``
renders them its own way (:mod:`idempotency_middleware.error_shapes`).
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.records import Headers, StoredResponse

__all__ = [
    "ERROR_FORMATS",
    "PROBLEM_BASE_URI",
    "ErrorFormat",
    "Problem",
    "ProblemType",
    "problem_base_uri",
]

ErrorFormat = Literal["problem", "stripe"]
ERROR_FORMATS: tuple[ErrorFormat, ...] = ("problem", "stripe")

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

    @property
    def stripe(self) -> tuple[int, str, str]:
        """The status, error ``type`` and ``code`` of this problem as Stripe answers it.

        stripe-python raises ``IdempotencyError`` for an ``idempotency_error`` only with
        400 or 404, which is why a reused key is 400 here, as at Stripe, not 422.
        """
        return _STRIPE[self]


_STRIPE = {
    ProblemType.KEY_MISSING: (400, "idempotency_error", "key_missing"),
    ProblemType.KEY_INVALID: (400, "idempotency_error", "key_invalid"),
    ProblemType.KEY_REUSED: (400, "idempotency_error", "key_reused"),
    ProblemType.REQUEST_IN_PROGRESS: (409, "idempotency_error", "idempotency_key_in_use"),
    ProblemType.RESPONSE_NOT_REPLAYABLE: (409, "idempotency_error", "response_not_replayable"),
    ProblemType.REQUEST_TOO_LARGE: (413, "invalid_request_error", "request_too_large"),
    ProblemType.STORE_UNAVAILABLE: (503, "api_error", "store_unavailable"),
}


@dataclass(frozen=True)
class Problem:
    """One problem answer; ``retry_after`` (seconds) becomes a ``Retry-After`` header, and
    the ``type`` URI is ``base`` followed by the problem's slug and a slash."""

    type: ProblemType
    detail: str
    retry_after: float | None = None
    base: str = PROBLEM_BASE_URI

    def response(self, error_format: ErrorFormat = "problem") -> StoredResponse:
        """Render as an ``application/problem+json`` response, or as a Stripe error."""
        if error_format == "stripe":
            status, error_type, code = self.type.stripe
            error = {
                "type": error_type,
                "code": code,
                "message": self.detail,
                "doc_url": self.uri,
            }
            body = _json({"error": error})
            # Stripe's SDKs follow this header over their own rules for the status.
            retry = b"true" if self.type.retryable else b"false"
            extra: Headers = ((b"stripe-should-retry", retry),)
            return self._rendered(status, b"application/json", body, extra)
        problem = {
            "type": self.uri,
            "title": self.type.title,
            "status": self.type.status,
            "detail": self.detail,
            "retryable": self.type.retryable,
        }
        return self._rendered(self.type.status, b"application/problem+json", _json(problem))

    @property
    def uri(self) -> str:
        """The ``type`` URI: the base, the problem's slug and a slash."""
        return f"{self.base}{self.type.slug}/"

    @property
    def retry_after_header(self) -> bytes | None:
        """The ``Retry-After`` value: whole seconds, at least one; None without one."""
        if self.retry_after is None:
            return None
        return str(max(1, math.ceil(self.retry_after))).encode()

    def _rendered(
        self, status: int, media_type: bytes, body: bytes, extra: Headers = ()
    ) -> StoredResponse:
        headers = [
            (b"content-type", media_type),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        if self.retry_after_header is not None:
            headers.append((b"retry-after", self.retry_after_header))
        return StoredResponse(status, tuple(headers), body)


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()
