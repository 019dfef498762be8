"""The ``error_format`` option: how the middleware's own answers look.

``"problem"`` (RFC 9457, the default) and ``"stripe"`` are built in. Any other shape is a
callable that takes the :class:`~idempotency_middleware.problems.Problem` and returns
``(status, headers, body)``: an int from 400 to 599, a mapping of header names to str
values, and the body as bytes. The middleware adds ``Content-Length``, and
``Retry-After`` where the problem has one and the headers do not.

A callable that raises, or returns anything else, must not turn the answer into a 500:
the client gets the RFC 9457 problem instead, and each such failure is logged once, at
ERROR with its traceback, on the ``idempotency_middleware`` logger.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.problems import ERROR_FORMATS, ErrorFormat, Problem
from idempotency_middleware.records import StoredResponse

__all__ = ["ErrorRenderer", "ErrorShape", "error_format", "render"]

ErrorRenderer: TypeAlias = Callable[[Problem], tuple[int, Mapping[str, str], bytes]]
"""A callable ``error_format``: the problem in, ``(status, headers, body)`` out."""

_log = logging.getLogger("idempotency_middleware")


@dataclass(frozen=True)
class ErrorShape:
    """A callable ``error_format`` with what the OpenAPI installer documents of it.

    ``schema`` is the JSON schema of the body (a plain object when not given) and
    ``media_type`` the content type it is documented under. A bare callable passed as
    ``error_format`` is taken as ``ErrorShape(callable)``.
    """

    render: ErrorRenderer
    schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    media_type: str = "application/json"


def error_format(value: Any) -> ErrorFormat | ErrorShape:
    """``value`` checked as the ``error_format`` option."""
    if value in ERROR_FORMATS or isinstance(value, ErrorShape):
        return value  # type: ignore[no-any-return]
    if callable(value) and not isinstance(value, str):
        return ErrorShape(value)
    raise ConfigurationError(
        "error_format must be 'problem' (RFC 9457 problem+json), 'stripe' (Stripe's error "
        "shape and statuses) or a callable that takes the Problem and returns "
        f"(status, headers, body), not {value!r}"
    )


def render(problem: Problem, chosen: ErrorFormat | ErrorShape) -> StoredResponse:
    """``problem`` as the answer of the ``chosen`` format; RFC 9457 if a callable fails."""
    if not isinstance(chosen, ErrorShape):
        return problem.response(chosen)
    try:
        return _checked(problem, chosen.render(problem))
    except Exception:
        _log.exception(
            "error_format %r failed on %s; answered as RFC 9457 instead",
            chosen.render,
            problem.type.slug,
        )
        return problem.response("problem")


def _checked(problem: Problem, rendered: object) -> StoredResponse:
    if not isinstance(rendered, tuple) or len(rendered) != 3:
        raise TypeError(f"expected (status, headers, body), got {rendered!r}")
    status, headers, body = rendered
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise TypeError(f"the status must be an int from 400 to 599, not {status!r}")
    if not isinstance(body, bytes):
        raise TypeError(f"the body must be bytes, not {type(body).__name__}")
    if not isinstance(headers, Mapping) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in headers.items()
    ):
        raise TypeError(f"the headers must map str names to str values, not {headers!r}")
    if any(character in text for text in (*headers, *headers.values()) for character in "\r\n\0"):
        raise TypeError(f"a header holds a line break or NUL: {headers!r}")
    names = {name.lower() for name in headers}
    # Encoding here, not later in an adapter, keeps a bad header inside this fallback.
    encoded = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in headers.items()
        if name.lower() != "content-length"
    ]
    encoded.append((b"content-length", str(len(body)).encode()))
    if problem.retry_after_header is not None and "retry-after" not in names:
        encoded.append((b"retry-after", problem.retry_after_header))
    return StoredResponse(status, tuple(encoded), body)
