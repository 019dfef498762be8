"""The protocol's decisions, driven by hand: no store, no clock, no I/O.

Each test sends the generator of :func:`exchange` the answers a store would give and
checks the step it yields next, like h11's state tests feed events to a connection.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.keys import from_form, from_json
from idempotency_middleware.options import Options
from idempotency_middleware.problems import PROBLEM_BASE_URI
from idempotency_middleware.protocol import (
    Admitted,
    Exchange,
    PassThrough,
    ReadBody,
    admit,
    exchange,
    inspect,
)
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope, lookup_key
from idempotency_middleware.sealed import SEALED_PREFIX
from idempotency_middleware.steps import (
    AppResult,
    ClaimStep,
    CompleteStep,
    Done,
    Execute,
    ReleaseStep,
    Respond,
    Sleep,
)
from idempotency_middleware.stores import MemoryStore

OWNER = "owner-1"
OTHER = "owner-0"
NOW = 1_700_000_000.0
LIMIT = 10 * 2**20

REQUEST = Request(
    "POST",
    "/orders",
    headers=(("content-type", "application/json"), ("idempotency-key", "k1")),
    body=b'{"item": "book"}',
)
RESPONSE = StoredResponse(201, ((b"content-type", b"application/json"),), b'{"id": 7}')
REPLAYED = StoredResponse(
    201,
    (
        (b"content-type", b"application/json"),
        (b"content-length", b"9"),
        (b"idempotent-replayed", b"true"),
    ),
    b'{"id": 7}',
)


def build(**options: Any) -> Options:
    """Options with a fixed owner token, so steps can be compared whole."""
    return replace(Options.build(store=MemoryStore(), **options), new_owner=lambda: OWNER)


DEFAULT = build()
KEY = lookup_key(default_scope(REQUEST), "k1", None)
FINGERPRINT = DEFAULT.fingerprint(REQUEST)


def start(options: Options = DEFAULT, request: Request = REQUEST) -> tuple[Exchange, Any]:
    steps = exchange(options, request, "k1")
    return steps, next(steps)


def in_progress(expires_in: float, fingerprint: str = FINGERPRINT) -> Record:
    return Record(RecordState.IN_PROGRESS, fingerprint, OTHER, NOW + expires_in)


def completed(response: StoredResponse | None = RESPONSE, fingerprint: str = FINGERPRINT) -> Record:
    return Record(RecordState.COMPLETED, fingerprint, OTHER, NOW + 86_400, response)


def standing(record: Record, now: float = NOW) -> Claim:
    return Claim(claimed=False, record=record, now=now)


def claimed(now: float = NOW) -> Claim:
    return Claim(True, Record(RecordState.IN_PROGRESS, FINGERPRINT, OWNER, now + 60), now)


# Log outcome names (SEMANTICS section 8) that differ from the problem's slug.
SLUGS = {
    "mismatch": "key-reused",
    "in-progress": "request-in-progress",
    "not-replayable": "response-not-replayable",
}


def problem(step: Any) -> dict[str, Any]:
    """The problem+json body of a Respond step, with its status and Retry-After."""
    assert isinstance(step, Respond)
    headers = dict(step.response.headers)
    assert headers[b"content-type"] == b"application/problem+json"
    body: dict[str, Any] = json.loads(step.response.body)
    slug = SLUGS.get(step.outcome, step.outcome)
    assert body["type"] == f"{PROBLEM_BASE_URI}{slug}/"
    assert body["status"] == step.response.status
    assert body["detail"]
    retry_after = headers.get(b"retry-after")
    body["retry-after"] = None if retry_after is None else retry_after.decode()
    return body


def assert_finished(steps: Exchange, value: Any = None) -> None:
    with pytest.raises(StopIteration):
        steps.send(value)


# --- claiming -------------------------------------------------------------------------


def test_first_step_claims_the_scoped_key() -> None:
    _, step = start()
    assert step == ClaimStep(KEY, OWNER, FINGERPRINT, 60.0)


def test_lookup_key_uses_scope_and_secret() -> None:
    _, alice = start(request=replace(REQUEST, principal="alice"))
    _, secret = start(build(secret="s3cret"))
    assert alice.key == lookup_key("user:alice", "k1", None)
    assert secret.key == lookup_key("anonymous", "k1", b"s3cret")
    assert len({KEY, alice.key, secret.key}) == 3


def test_new_key_executes() -> None:
    steps, _ = start()
    assert steps.send(claimed()) == Execute(protected=True, outcome="executed")


# (record the claim finds, the problem slug or "replayed", status, Retry-After)
STANDING: list[Any] = [
    pytest.param(completed(), "replayed", 201, None, id="completed-replays"),
    pytest.param(completed(None), "not-replayable", 409, None, id="completed-without-body"),
    # Retry-After is a poll hint, not the lease left (SEMANTICS 5).
    pytest.param(in_progress(30.2), "in-progress", 409, "1", id="in-progress"),
    pytest.param(in_progress(60), "in-progress", 409, "1", id="in-progress-full"),
    pytest.param(in_progress(1.0), "in-progress", 409, "1", id="in-progress-1s"),
    pytest.param(in_progress(0.2), "in-progress", 409, "1", id="in-progress-min-1"),
    pytest.param(completed(fingerprint="other"), "mismatch", 422, None, id="completed-reused"),
    pytest.param(completed(None, fingerprint="other"), "mismatch", 422, None, id="no-body-reused"),
    pytest.param(in_progress(30, "other"), "mismatch", 422, None, id="in-progress-reused"),
]


@pytest.mark.parametrize(("record", "outcome", "status", "retry_after"), STANDING)
def test_standing_record(
    record: Record, outcome: str, status: int, retry_after: str | None
) -> None:
    steps, _ = start()
    step = steps.send(standing(record))
    assert isinstance(step, Respond)
    assert step.outcome == outcome
    assert step.response.status == status
    if outcome == "replayed":
        assert step.response == REPLAYED
    else:
        assert problem(step)["retry-after"] == retry_after
    assert_finished(steps)


@pytest.mark.parametrize(
    ("outcome", "retryable"),
    [
        ("in-progress", True),
        ("mismatch", False),
        ("not-replayable", False),
    ],
)
def test_problem_retryable(outcome: str, retryable: bool) -> None:
    record = {
        "in-progress": in_progress(5),
        "mismatch": completed(fingerprint="other"),
        "not-replayable": completed(None),
    }[outcome]
    steps, _ = start()
    assert problem(steps.send(standing(record)))["retryable"] is retryable


# --- in_flight="wait" -----------------------------------------------------------------

WAIT = build(in_flight="wait", wait_timeout=5)


def test_wait_sleeps_then_claims_again() -> None:
    steps, first = start(WAIT)
    step = steps.send(standing(in_progress(30)))
    assert isinstance(step, Sleep)
    assert 0 < step.seconds <= 0.2
    assert steps.send(None) == first


def test_wait_polls_with_growing_bounded_sleeps() -> None:
    steps, _ = start(WAIT)
    sleeps = []
    now = NOW
    for _ in range(8):
        step = steps.send(standing(in_progress(30), now))
        assert isinstance(step, Sleep)
        sleeps.append(step.seconds)
        now += step.seconds
        assert isinstance(steps.send(None), ClaimStep)
    assert sleeps == sorted(sleeps)
    assert sleeps[0] < sleeps[-1] <= 0.2


@pytest.mark.parametrize(
    ("now", "expires_in", "at_most"),
    [
        pytest.param(NOW + 4.995, 30, 0.005, id="deadline"),
        pytest.param(NOW + 1, 0.003 + 1, 0.003, id="lease"),
    ],
)
def test_wait_sleep_is_capped(now: float, expires_in: float, at_most: float) -> None:
    steps, _ = start(WAIT)
    assert isinstance(steps.send(standing(in_progress(30))), Sleep)
    assert isinstance(steps.send(None), ClaimStep)
    step = steps.send(standing(in_progress(expires_in), now))
    assert isinstance(step, Sleep)
    assert step.seconds == pytest.approx(at_most, abs=1e-5)


@pytest.mark.parametrize("then", [NOW + 5, NOW + 5.5, NOW + 20])
def test_wait_gives_up_after_the_deadline(then: float) -> None:
    steps, _ = start(WAIT)
    assert isinstance(steps.send(standing(in_progress(30))), Sleep)
    assert isinstance(steps.send(None), ClaimStep)
    body = problem(steps.send(standing(in_progress(30), then)))
    assert body["status"] == 409
    assert body["retry-after"] == "1"


def test_wait_deadline_counts_from_the_first_claim() -> None:
    steps, _ = start(WAIT)
    now = NOW
    for _ in range(3):
        assert isinstance(steps.send(standing(in_progress(30), now)), Sleep)
        assert isinstance(steps.send(None), ClaimStep)
        now += 2
    # NOW + 6: past NOW + wait_timeout, though only 2 s after the last claim.
    assert problem(steps.send(standing(in_progress(30), now)))["status"] == 409


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (completed(), Respond(REPLAYED, "replayed")),
        (None, Execute(protected=True, outcome="executed")),
    ],
)
def test_wait_ends_with_the_original(record: Record | None, expected: Any) -> None:
    steps, _ = start(WAIT)
    assert isinstance(steps.send(standing(in_progress(30))), Sleep)
    assert isinstance(steps.send(None), ClaimStep)
    # The original completed (replay) or was released (this request claims the key).
    answer = claimed(NOW + 1) if record is None else standing(record, NOW + 1)
    assert steps.send(answer) == expected


def test_wait_answers_a_reused_key_at_once() -> None:
    steps, _ = start(WAIT)
    assert problem(steps.send(standing(in_progress(30, "other"))))["status"] == 422


def test_reject_mode_does_not_sleep() -> None:
    steps, _ = start()
    assert problem(steps.send(standing(in_progress(30))))["status"] == 409


# --- the store is unavailable -----------------------------------------------------------


def test_store_error_on_claim_fails_closed() -> None:
    steps, _ = start()
    step = steps.throw(StoreError("connection refused"))
    body = problem(step)
    assert (body["status"], body["retryable"], body["retry-after"]) == (503, True, "1")
    assert step.outcome == "store-unavailable"
    assert "connection refused" not in step.response.body.decode()
    assert_finished(steps)


def test_store_error_on_claim_fails_open() -> None:
    steps, _ = start(build(on_store_error="fail_open"))
    assert steps.throw(StoreError("down")) == Execute(protected=False, outcome="fail-open")


@pytest.mark.parametrize("on_store_error", ["fail_closed", "fail_open"])
def test_undecodable_record_is_never_run_over(on_store_error: str) -> None:
    # The store answered and holds something for the key: failing open could repeat it.
    steps, _ = start(build(on_store_error=on_store_error, lease=30))
    step = steps.throw(RecordDecodeError("stored record has format version 9"))
    assert isinstance(step, Respond)
    assert step.outcome == "record-undecodable"
    assert step.response.status == 503
    assert dict(step.response.headers)[b"retry-after"] == b"30"
    # Unprotected: nothing to complete or release afterwards.
    assert_finished(steps, AppResult(201, (), False, RESPONSE))


def test_an_encrypted_body_is_never_replayed_without_keys() -> None:
    # A worker with encryption_keys wrote it: replaying it here would send ciphertext.
    sealed = replace(RESPONSE, body=SEALED_PREFIX + bytes(32))
    steps, _ = start()
    step = steps.send(standing(completed(sealed)))
    assert isinstance(step, Respond)
    assert step.outcome == "record-undecodable"
    assert step.response.status == 503
    assert_finished(steps, AppResult(201, (), False, RESPONSE))


def test_store_error_while_waiting_fails_closed() -> None:
    steps, _ = start(WAIT)
    assert isinstance(steps.send(standing(in_progress(30))), Sleep)
    assert isinstance(steps.send(None), ClaimStep)
    assert problem(steps.throw(StoreError("down")))["status"] == 503


# --- after the app ran ------------------------------------------------------------------


def executed(options: Options = DEFAULT) -> Exchange:
    steps, _ = start(options)
    assert steps.send(claimed()) == Execute(protected=True, outcome="executed")
    return steps


RESULTS: list[Any] = [
    pytest.param(AppResult(201, RESPONSE.headers, False, RESPONSE), "complete", id="201"),
    pytest.param(
        AppResult(200, (), False, StoredResponse(200, (), b"")), "complete", id="200-empty"
    ),
    pytest.param(AppResult(404, (), False, StoredResponse(404, (), b"no")), "complete", id="404"),
    pytest.param(AppResult(422, (), False, StoredResponse(422, (), b"bad")), "complete", id="422"),
    pytest.param(AppResult(200, (), False, None), "complete", id="200-too-large"),
    pytest.param(AppResult(500, (), False, StoredResponse(500, (), b"")), "release", id="500"),
    pytest.param(AppResult(503, (), False, StoredResponse(503, (), b"")), "release", id="503"),
    pytest.param(AppResult(409, (), False, StoredResponse(409, (), b"")), "release", id="409"),
    pytest.param(AppResult(429, (), False, StoredResponse(429, (), b"")), "release", id="429"),
    pytest.param(AppResult(401, (), False, StoredResponse(401, (), b"")), "release", id="401"),
    # The app raised or stopped before the status line went out: nothing was answered.
    pytest.param(AppResult(201, (), True, RESPONSE), "release", id="raised-before-sent"),
    pytest.param(AppResult(0, (), True, None), "release", id="raised"),
    # SEMANTICS 5: once the status line went out, a body cut short completes bodiless.
    pytest.param(AppResult(201, (), True, RESPONSE, True), "bodiless", id="cut-short"),
    pytest.param(AppResult(201, (), True, None, True), "bodiless", id="cut-short-too-large"),
    pytest.param(AppResult(500, (), True, None, True), "release", id="cut-short-500"),
    # Rejected by the framework before the handler ran (request validation).
    pytest.param(
        AppResult(422, (), False, StoredResponse(422, (), b"bad"), True, True),
        "release",
        id="validation-rejected",
    ),
]


@pytest.mark.parametrize(("result", "next_step"), RESULTS)
def test_after_execute(result: AppResult, next_step: str) -> None:
    steps = executed()
    step = steps.send(result)
    if next_step == "complete":
        assert step == CompleteStep(KEY, OWNER, result.response, 86_400.0)
    elif next_step == "bodiless":
        assert step == CompleteStep(KEY, OWNER, None, 86_400.0)
    else:
        assert step == ReleaseStep(KEY, OWNER)


def test_store_validation_errors_stores_a_rejection() -> None:
    steps = executed(build(store_validation_errors=True))
    rejected = AppResult(422, (), False, StoredResponse(422, (), b"bad"), True, True)
    assert steps.send(rejected) == CompleteStep(KEY, OWNER, rejected.response, 86_400.0)


@pytest.mark.parametrize(
    ("status", "next_step"),
    [(404, ReleaseStep), (409, CompleteStep), (429, CompleteStep), (500, ReleaseStep)],
)
def test_not_stored_option(status: int, next_step: type) -> None:
    steps = executed(build(not_stored=[404], ttl=3600))
    step = steps.send(AppResult(status, (), False, StoredResponse(status, (), b"")))
    assert isinstance(step, next_step)
    if isinstance(step, CompleteStep):
        assert step.ttl == 3600


# (step after the app, how the store answered it, the exchange's final outcome)
ENDINGS: list[Any] = [
    pytest.param(201, True, "executed", id="completed"),
    pytest.param(201, False, "lease-lost", id="complete-lease-lost"),
    pytest.param(201, StoreError("down"), "completion-failed", id="complete-store-error"),
    pytest.param(500, True, "released", id="released"),
    pytest.param(500, StoreError("down"), "release-failed", id="release-store-error"),
    # SEMANTICS 5: releasing checks the owner token too; a lost lease logs lease-lost.
    pytest.param(500, False, "lease-lost", id="release-lease-lost"),
]


@pytest.mark.parametrize(("status", "answer", "outcome"), ENDINGS)
def test_exchange_ends(status: int, answer: bool | StoreError, outcome: str) -> None:
    steps = executed()
    steps.send(AppResult(status, (), False, StoredResponse(status, (), b"")))
    done = steps.throw(answer) if isinstance(answer, StoreError) else steps.send(answer)
    assert done == Done(outcome)
    assert_finished(steps)


# --- inspect(): what a request needs before its body is read ---------------------------------


def head(method: str = "POST", path: str = "/orders", *headers: tuple[str, str]) -> Request:
    return Request(method, path, headers=headers)


KEYED = ("idempotency-key", "k1")

INSPECT: list[Any] = [
    pytest.param(DEFAULT, head("POST", "/orders", KEYED), ReadBody(LIMIT, "k1"), id="post"),
    pytest.param(DEFAULT, head("PATCH", "/orders/1", KEYED), ReadBody(LIMIT, "k1"), id="patch"),
    pytest.param(DEFAULT, head("GET", "/orders", KEYED), PassThrough(), id="get"),
    pytest.param(DEFAULT, head("PUT", "/orders", KEYED), PassThrough(), id="put"),
    pytest.param(DEFAULT, head("DELETE", "/orders", KEYED), PassThrough(), id="delete"),
    pytest.param(DEFAULT, head("POST", "/orders"), PassThrough(), id="no-key"),
    # A key on a route that is not covered is ignored, even an invalid one.
    pytest.param(
        DEFAULT, head("GET", "/orders", ("idempotency-key", "a,b")), PassThrough(), id="get-bad"
    ),
    pytest.param(
        build(methods=["put"]), head("PUT", "/orders", KEYED), ReadBody(LIMIT, "k1"), id="put-on"
    ),
    pytest.param(
        build(methods=["put"]), head("POST", "/orders", KEYED), PassThrough(), id="post-off"
    ),
    pytest.param(
        build(exclude=["/health"]), head("POST", "/health", KEYED), PassThrough(), id="excluded"
    ),
    pytest.param(
        build(exclude=["/health"]),
        head("POST", "/orders", KEYED),
        ReadBody(LIMIT, "k1"),
        id="not-excluded",
    ),
    pytest.param(
        build(include=["/orders/{id}"]),
        head("POST", "/orders/1", KEYED),
        ReadBody(LIMIT, "k1"),
        id="included",
    ),
    pytest.param(
        build(include=["/orders/{id}"]),
        head("POST", "/other", KEYED),
        PassThrough(),
        id="not-included",
    ),
    pytest.param(
        build(required=["/pay"]), head("POST", "/pay", KEYED), ReadBody(LIMIT, "k1"), id="required"
    ),
    pytest.param(
        build(include=["/orders"], required=["/pay"]),
        head("POST", "/pay", KEYED),
        ReadBody(LIMIT, "k1"),
        id="required-is-covered",
    ),
    pytest.param(
        build(required=["/pay"], exclude=["/pay"]),
        head("POST", "/pay"),
        PassThrough(),
        id="required-but-excluded",
    ),
    pytest.param(
        build(required=["/pay"]), head("GET", "/pay"), PassThrough(), id="required-other-method"
    ),
    pytest.param(
        build(required=["/pay"]), head("POST", "/orders"), PassThrough(), id="not-required"
    ),
    pytest.param(
        build(max_request_bytes=100),
        head("POST", "/orders", KEYED),
        ReadBody(100, "k1"),
        id="limit",
    ),
    pytest.param(
        build(header="X-Delivery"),
        head("POST", "/hook", ("x-delivery", "d1"), KEYED),
        ReadBody(LIMIT, "d1"),
        id="other-header",
    ),
    pytest.param(
        build(header="X-Delivery"),
        head("POST", "/hook", KEYED),
        PassThrough(),
        id="other-header-missing",
    ),
    # A key in the body: read it first, whatever the headers say.
    pytest.param(build(key=from_json("/id")), head("POST", "/hook"), ReadBody(LIMIT), id="json"),
    pytest.param(
        build(key=from_form("k")), head("POST", "/buy", KEYED), ReadBody(LIMIT), id="form"
    ),
    pytest.param(
        build(key=lambda request: "fixed"), head("POST", "/x"), ReadBody(LIMIT), id="function"
    ),
    pytest.param(build(key=from_json("/id")), head("GET", "/hook"), PassThrough(), id="json-get"),
]


@pytest.mark.parametrize(("options", "request_", "decision"), INSPECT)
def test_inspect(options: Options, request_: Request, decision: Any) -> None:
    assert inspect(options, request_) == decision


REJECTED: list[Any] = [
    pytest.param(build(required=["/pay"]), head("POST", "/pay"), "key-missing", id="missing"),
    pytest.param(
        build(required=["/pay/{id}"]), head("PATCH", "/pay/9"), "key-missing", id="missing-template"
    ),
    pytest.param(
        DEFAULT, head("POST", "/orders", ("idempotency-key", "a,b")), "key-invalid", id="comma"
    ),
    pytest.param(
        DEFAULT, head("POST", "/orders", ("idempotency-key", "")), "key-invalid", id="empty"
    ),
    pytest.param(
        DEFAULT,
        head("POST", "/orders", KEYED, ("idempotency-key", "k2")),
        "key-invalid",
        id="twice",
    ),
    pytest.param(
        build(required=["/pay"]),
        head("POST", "/pay", ("idempotency-key", "caf\xe9")),
        "key-invalid",
        id="required-invalid",
    ),
]


@pytest.mark.parametrize(("options", "request_", "outcome"), REJECTED)
def test_inspect_rejects_before_the_body(options: Options, request_: Request, outcome: str) -> None:
    step = inspect(options, request_)
    assert isinstance(step, Respond)
    assert step.outcome == outcome
    body = problem(step)
    assert (body["status"], body["retryable"]) == (400, False)


def test_key_invalid_detail_is_the_error_message() -> None:
    step = inspect(DEFAULT, head("POST", "/orders", ("idempotency-key", "a,b")))
    assert "comma" in problem(step)["detail"]


# --- after the body is read: admit() ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"id": "evt_1"}', "evt_1"),
        (b'{"other": 1}', None),
        (b"", None),
        (b'{"id": {}}', "key-invalid"),
        (b"not json", "key-invalid"),
    ],
)
def test_admit_finds_the_key_in_the_body(body: bytes, expected: str | None) -> None:
    options = build(key=from_json("/id"))
    wanted = inspect(options, head("POST", "/hook"))
    assert isinstance(wanted, ReadBody)
    admitted = admit(options, wanted, head("POST", "/hook"), body, "user-1")
    if isinstance(admitted, Respond):
        assert admitted.outcome == expected
        assert problem(admitted)["status"] == 400
    elif expected is None:
        assert admitted == PassThrough()
    else:
        assert isinstance(admitted, Admitted)
        assert admitted.key == expected
        assert (admitted.request.body, admitted.request.principal) == (body, "user-1")


@pytest.mark.parametrize(
    ("options", "path", "expected"),
    [
        (build(key=from_json("/id")), "/orders", None),
        (build(key=from_json("/id"), required=["/pay"]), "/orders", None),
        (build(key=from_json("/id"), required=["/pay"]), "/pay", "key-missing"),
    ],
)
def test_admit_without_key(options: Options, path: str, expected: str | None) -> None:
    answer = admit(options, ReadBody(LIMIT), head("POST", path), b"{}")
    if expected is None:
        assert answer == PassThrough()
    else:
        assert isinstance(answer, Respond)
        assert answer.outcome == expected


def test_admit_a_body_over_the_limit() -> None:
    answer = admit(build(max_request_bytes=1000), ReadBody(1000, "k1"), head(), None)
    assert isinstance(answer, Respond)
    body = problem(answer)
    assert (answer.outcome, body["status"], body["retryable"]) == ("request-too-large", 413, False)
    assert "1000" in body["detail"]
