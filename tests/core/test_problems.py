"""RFC 9457 problem answers (SEMANTICS section 7)."""

from __future__ import annotations

import json

import pytest

from idempotency_middleware.problems import PROBLEM_BASE_URI, Problem, ProblemType

PROBLEMS = [
    (ProblemType.KEY_MISSING, "key-missing", 400, False),
    (ProblemType.KEY_INVALID, "key-invalid", 400, False),
    (ProblemType.KEY_REUSED, "key-reused", 422, False),
    (ProblemType.REQUEST_IN_PROGRESS, "request-in-progress", 409, True),
    (ProblemType.RESPONSE_NOT_REPLAYABLE, "response-not-replayable", 409, False),
    (ProblemType.REQUEST_TOO_LARGE, "request-too-large", 413, False),
    (ProblemType.STORE_UNAVAILABLE, "store-unavailable", 503, True),
]


@pytest.mark.parametrize(("kind", "slug", "status", "retryable"), PROBLEMS)
def test_problem_response(kind: ProblemType, slug: str, status: int, retryable: bool) -> None:
    response = Problem(kind, "Do this instead.").response()
    assert response.status == status
    assert response.headers == (
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(response.body)).encode()),
    )
    assert json.loads(response.body) == {
        "type": f"{PROBLEM_BASE_URI}{slug}/",
        "title": kind.title,
        "status": status,
        "detail": "Do this instead.",
        "retryable": retryable,
    }


def test_every_problem_has_its_own_type_and_title() -> None:
    assert len({kind.uri for kind in ProblemType}) == len(ProblemType) == len(PROBLEMS)
    assert len({kind.title for kind in ProblemType}) == len(ProblemType)


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [(1, b"1"), (0, b"1"), (0.2, b"1"), (1.0, b"1"), (1.01, b"2"), (30.5, b"31"), (60, b"60")],
)
def test_retry_after_is_whole_seconds_at_least_one(retry_after: float, header: bytes) -> None:
    response = Problem(ProblemType.REQUEST_IN_PROGRESS, "wait", retry_after).response()
    assert dict(response.headers)[b"retry-after"] == header


def test_no_retry_after_unless_given() -> None:
    response = Problem(ProblemType.KEY_REUSED, "new key").response()
    assert b"retry-after" not in dict(response.headers)


STRIPE = [
    (ProblemType.KEY_MISSING, 400, "idempotency_error", "key_missing", False),
    (ProblemType.KEY_INVALID, 400, "idempotency_error", "key_invalid", False),
    (ProblemType.KEY_REUSED, 400, "idempotency_error", "key_reused", False),
    (ProblemType.REQUEST_IN_PROGRESS, 409, "idempotency_error", "idempotency_key_in_use", True),
    (
        ProblemType.RESPONSE_NOT_REPLAYABLE,
        409,
        "idempotency_error",
        "response_not_replayable",
        False,
    ),
    (ProblemType.REQUEST_TOO_LARGE, 413, "invalid_request_error", "request_too_large", False),
    (ProblemType.STORE_UNAVAILABLE, 503, "api_error", "store_unavailable", True),
]


@pytest.mark.parametrize(("kind", "status", "type_", "code", "retry"), STRIPE)
def test_stripe_error_response(
    kind: ProblemType, status: int, type_: str, code: str, retry: bool
) -> None:
    response = Problem(kind, "Do this instead.").response("stripe")
    assert response.status == status
    assert response.headers == (
        (b"content-type", b"application/json"),
        (b"content-length", str(len(response.body)).encode()),
        (b"stripe-should-retry", b"true" if retry else b"false"),
    )
    assert json.loads(response.body) == {
        "error": {
            "type": type_,
            "code": code,
            "message": "Do this instead.",
            "doc_url": kind.uri,
        }
    }


def test_stripe_errors_keep_retry_after() -> None:
    response = Problem(ProblemType.STORE_UNAVAILABLE, "later", 1).response("stripe")
    assert dict(response.headers)[b"retry-after"] == b"1"


def test_every_problem_has_a_stripe_shape() -> None:
    assert len(STRIPE) == len(ProblemType)
