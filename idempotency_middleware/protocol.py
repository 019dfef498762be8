"""The decisions of the middleware, with no I/O: what to do with a request, step by step.

Adapters first ask :func:`inspect` what a request needs (pass it through, answer a
problem, or read its body); with the body read, :func:`admit` finds its key (or answers
413 or 400, or passes it through); an admitted request goes to :func:`exchange`, a
generator that yields the steps its driver performs (claim, sleep, respond, execute,
complete, release) and receives their results, like the state machine of h11.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from idempotency_middleware.error_shapes import render
from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.keys import InvalidKeyError
from idempotency_middleware.options import Options
from idempotency_middleware.problems import Problem, ProblemType
from idempotency_middleware.records import Claim, RecordState
from idempotency_middleware.replay import is_storable, replay
from idempotency_middleware.request import Request
from idempotency_middleware.scope import lookup_key
from idempotency_middleware.sealed import refuse_sealed
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
from idempotency_middleware.window import WindowKey, window_key

__all__ = [
    "Admitted",
    "PassThrough",
    "ReadBody",
    "admit",
    "covered",
    "exchange",
    "inspect",
]

_FIRST_POLL = 0.01
_MAX_POLL = 0.2
_POLL_HINT = 1
"""Retry-After of a 409 in progress, in seconds: the shortest whole delay (RFC 9110
delay-seconds). Not the lease left: retrying clients (urllib3, httpx-retries) sleep
that long, and the original usually ends much sooner."""


@dataclass(frozen=True)
class PassThrough:
    """Not covered, or covered without a key (and no ``auto_window``): call the app
    untouched."""


@dataclass(slots=True)
class ReadBody:
    """Read the body, up to ``limit`` bytes, then run :func:`exchange`.

    ``key`` is the key when the headers gave it, None when it is in the body.
    """

    limit: int
    key: str | None = None


@dataclass(slots=True)
class Admitted:
    """A keyed request with its body: run it through its record with :func:`exchange`."""

    request: Request
    key: str


Exchange = Generator[Any, Any, None]


# The outcome names of SEMANTICS section 8, where they differ from the problem's slug.
_OUTCOMES = {
    ProblemType.KEY_REUSED: "mismatch",
    ProblemType.REQUEST_IN_PROGRESS: "in-progress",
    ProblemType.RESPONSE_NOT_REPLAYABLE: "not-replayable",
}


def _problem(
    options: Options,
    kind: ProblemType,
    detail: str,
    retry_after: float | None = None,
    outcome: str | None = None,
) -> Respond:
    problem = Problem(kind, detail, retry_after, base=options.problem_base_uri)
    return Respond(render(problem, options.error_format), outcome or _OUTCOMES.get(kind, kind.slug))


def covered(options: Options, method: str, path: str) -> bool:
    """True if ``options`` protect a ``method`` request to ``path`` (SEMANTICS 1)."""
    if method not in options.methods or options.exclude.matches(path):
        return False
    return not options.include or options.include.matches(path) or options.required.matches(path)


def _without_key(options: Options, path: str) -> PassThrough | Respond:
    """A covered request without a key runs normally, unless its route requires one."""
    if options.required.matches(path):
        return _problem(
            options,
            ProblemType.KEY_MISSING,
            "This endpoint requires an idempotency key: send a unique Idempotency-Key "
            "header (a UUID) and reuse it on every retry of this request.",
        )
    return PassThrough()


def _key_of(options: Options, request: Request) -> str | Respond | None:
    """The key of ``request``, a 400 ``key-invalid`` answer, or None when it has none."""
    try:
        return options.key(request)
    except InvalidKeyError as exc:
        return _problem(options, ProblemType.KEY_INVALID, str(exc))


def inspect(options: Options, head: Request) -> PassThrough | ReadBody | Respond:
    """Decide from method, path and headers alone what a request needs."""
    if not covered(options, head.method, head.path):
        return PassThrough()
    if not options.key_needs_body:
        key = _key_of(options, head)
        if isinstance(key, Respond):
            return key
        if key is None and (options.auto_window is None or options.required.matches(head.path)):
            return _without_key(options, head.path)
        return ReadBody(options.max_request_bytes, key)
    return ReadBody(options.max_request_bytes)


def admit(
    options: Options,
    wanted: ReadBody,
    head: Request,
    body: bytes | None,
    principal: str | None = None,
) -> PassThrough | Respond | Admitted:
    """What a request :func:`inspect` asked to read needs, once its ``body`` is read
    (None when it is over ``wanted.limit``): a 413, a 400 ``key-invalid`` or
    ``key-missing``, a pass-through when it has no key, or its admission with its key.
    ``principal`` is the authenticated user the adapter found (SEMANTICS 3)."""
    if body is None:
        return _problem(
            options,
            ProblemType.REQUEST_TOO_LARGE,
            f"The request body is over {options.max_request_bytes} bytes, the most this "
            "endpoint reads to recognise a retry; send a smaller body.",
        )
    request = head._with(body, principal)
    key = wanted.key if wanted.key is not None else _key_of(options, request)
    if key is None:
        answer = _without_key(options, head.path)
        if isinstance(answer, PassThrough) and options.auto_window is not None:
            return Admitted(request, window_key(options.fingerprint(request)))
        return answer
    if isinstance(key, Respond):
        return key
    return Admitted(request, key)


def _answer_standing(options: Options, claim: Claim, fingerprint: str) -> Respond | None:
    record = claim.record
    assert record is not None
    if record.fingerprint != fingerprint:
        return _problem(
            options,
            ProblemType.KEY_REUSED,
            "This idempotency key was already used for a different request (another "
            "body, endpoint or method); use a new key for a new request.",
        )
    if record.state is RecordState.COMPLETED:
        if record.response is None:
            return _problem(
                options,
                ProblemType.RESPONSE_NOT_REPLAYABLE,
                "The original request ran and answered, but its response was too large to "
                "store or was cut short; do not retry it, fetch the result instead.",
            )
        return Respond(replay(record.response), "replayed")
    return None


def _releases(options: Options, result: AppResult) -> bool:
    """True if the app's result frees the key for a retry to run (SEMANTICS 5 and 6)."""
    if not is_storable(result.status, options.not_stored):
        return True
    # Nothing ran, as with Stripe: the corrected request may reuse the key.
    if result.rejected and not options.store_validation_errors:
        return True
    # Once its status line went out the handler ran and answered: a retry must not run
    # it again, even if the body was then cut short.
    return result.raised and not result.started


def exchange(options: Options, request: Request, key: str) -> Exchange:
    """Run one keyed request through its record: the generator of steps for a driver.

    A :class:`~idempotency_middleware.window.WindowKey` (a keyless request under
    ``auto_window``) keeps its record for the window only, so a repeat after it runs."""
    window = options.auto_window if isinstance(key, WindowKey) else None
    ttl = options.ttl if window is None else window
    scope_key = lookup_key(options.scope(request), key, options.secret)
    fingerprint = key.fingerprint if isinstance(key, WindowKey) else options.fingerprint(request)
    owner = options.new_owner()
    deadline: float | None = None
    poll = _FIRST_POLL
    while True:
        try:
            claim: Claim = yield ClaimStep(scope_key, owner, fingerprint, options.lease)
            if not options.encrypted:
                refuse_sealed(claim.record)
        except RecordDecodeError:
            # The store answers, and it holds something for this key that this version
            # cannot read (corrupted, or written by another format version): running the
            # request unprotected could repeat what that record stands for.
            detail = (
                "The record of this idempotency key cannot be read, so this request was "
                "not run; retry it later with the same key."
            )
            yield _problem(
                options,
                ProblemType.STORE_UNAVAILABLE,
                detail,
                retry_after=options.lease,
                outcome="record-undecodable",
            )
            return
        except StoreError:
            if options.on_store_error == "fail_open":
                yield Execute(protected=False, outcome="fail-open")
                return
            yield _problem(
                options,
                ProblemType.STORE_UNAVAILABLE,
                "The idempotency store cannot be reached, so this request was not run; "
                "retry it with the same key.",
                retry_after=1,
            )
            return
        if claim.claimed:
            break
        answer = _answer_standing(options, claim, fingerprint)
        if answer is not None:
            yield answer
            return
        assert claim.record is not None
        if options.in_flight == "wait":
            lease_left = claim.record.expires_at - claim.now
            deadline = claim.now + options.wait_timeout if deadline is None else deadline
            if claim.now < deadline:
                yield Sleep(max(0.001, min(poll, deadline - claim.now, lease_left)))
                poll = min(poll * 2, _MAX_POLL)
                continue
        yield _problem(
            options,
            ProblemType.REQUEST_IN_PROGRESS,
            "A request with this idempotency key is still running; retry after the "
            "number of seconds in Retry-After to get its response.",
            retry_after=_POLL_HINT,
        )
        return
    result: AppResult = yield Execute(protected=True, outcome="executed")
    if _releases(options, result):
        try:
            held = yield ReleaseStep(scope_key, owner)
        except StoreError:
            yield Done("release-failed")
            return
        yield Done("released" if held else "lease-lost")
        return
    # A response cut short (the client left, the stream failed) is not replayable.
    response = None if result.raised else result.response
    try:
        held = yield CompleteStep(scope_key, owner, response, ttl)
    except StoreError:
        yield Done("completion-failed")
        return
    yield Done("executed" if held else "lease-lost")
