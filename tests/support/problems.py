"""The one check of the middleware's RFC 9457 answers, for every test client."""

from __future__ import annotations

import json
from typing import Any

from idempotency_middleware.problems import ProblemType

__all__ = ["assert_problem"]

_RETRYABLE = {kind.slug: kind.retryable for kind in ProblemType}


def assert_problem(
    response: Any, status: int, slug: str, *, base: str | None = None
) -> dict[str, Any]:
    """``response`` is the problem ``slug`` with ``status``, not a replay; its members.

    ``response`` is any test client's: httpx, Django, Flask (``status_code``) or the raw
    ASGI, WSGI and behaviour replies of these tests. ``base`` makes the ``type`` URI
    exact; ``retryable`` must be what the problem type declares.
    """
    got, content_type, body, replayed = _parts(response)
    assert got == status, body
    assert content_type == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    if base is None:
        assert problem["type"].rstrip("/").endswith("/" + slug)
    else:
        assert problem["type"] == f"{base}{slug}/"
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    assert problem["retryable"] is _RETRYABLE[slug]
    assert not replayed
    return problem


def _parts(response: Any) -> tuple[int, str | None, bytes, bool]:
    if hasattr(response, "status_code"):  # httpx, Django, Flask
        headers = response.headers
        body = response.content if hasattr(response, "content") else response.data
        replayed = headers.get("Idempotent-Replayed") == "true"
        return response.status_code, headers.get("Content-Type"), body, replayed
    # The raw replies of these tests: header(name) lists the values of a header.
    status = response.code if hasattr(response, "code") else response.status
    content_types = response.header("content-type")
    replays = response.header("idempotent-replayed")
    return status, content_types[0] if content_types else None, response.body, bool(replays)
