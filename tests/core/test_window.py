"""Keyless de-duplication under ``auto_window``: which requests get a key made from
their fingerprint, how long its record lasts, and the option's checks."""

from __future__ import annotations

from typing import Any

import pytest

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.fingerprint import key_only
from idempotency_middleware.keys import from_json
from idempotency_middleware.options import Options
from idempotency_middleware.protocol import (
    Admitted,
    PassThrough,
    ReadBody,
    admit,
    exchange,
    inspect,
)
from idempotency_middleware.request import Request
from idempotency_middleware.steps import AppResult, CompleteStep, Execute
from idempotency_middleware.stores import MemoryStore
from tests.core.test_protocol import LIMIT, RESPONSE, build, claimed, head

BODY = b'{"item": "book"}'
KEYED = ("idempotency-key", "k1")
WINDOW = build(auto_window=30)


def _admit(options: Options, request: Request) -> Any:
    wanted = inspect(options, request)
    if not isinstance(wanted, ReadBody):
        return wanted
    return admit(options, wanted, request, BODY)


def _key_of(options: Options, request: Request) -> str | None:
    """The key ``request`` is admitted with, or None when it passes through."""
    answer = _admit(options, request)
    if isinstance(answer, PassThrough):
        return None
    assert isinstance(answer, Admitted), answer
    return answer.key


def _fingerprint(options: Options, path: str = "/orders") -> str:
    return options.fingerprint(Request("POST", path, headers=(), body=BODY))


@pytest.mark.parametrize(
    ("options", "request_", "key"),
    [
        pytest.param(build(), head(), None, id="off-by-default"),
        pytest.param(WINDOW, head(), "auto:", id="keyless"),
        pytest.param(WINDOW, head("POST", "/orders", KEYED), "k1", id="client-key-wins"),
        pytest.param(WINDOW, head("GET", "/orders"), None, id="not-covered"),
        pytest.param(build(auto_window=30, exclude=["/orders"]), head(), None, id="excluded"),
        pytest.param(
            build(auto_window=30, key=from_json("/id")), head(), "auto:", id="body-key-absent"
        ),
    ],
)
def test_which_requests_get_a_window_key(
    options: Options, request_: Request, key: str | None
) -> None:
    found = _key_of(options, request_)
    if key == "auto:":
        assert found == "auto:" + _fingerprint(options)
    else:
        assert found == key


def test_keyless_reads_the_body_under_a_window() -> None:
    assert inspect(WINDOW, head()) == ReadBody(LIMIT)


def test_a_required_key_is_still_required() -> None:
    options = build(auto_window=30, required=["/pay"])
    assert _admit(options, head("POST", "/pay")).outcome == "key-missing"


def test_identical_writes_share_a_key_and_others_do_not() -> None:
    first = admit(WINDOW, ReadBody(LIMIT), head(), BODY)
    again = admit(WINDOW, ReadBody(LIMIT), head(), BODY)
    other = admit(WINDOW, ReadBody(LIMIT), head(), b'{"item": "pen"}')
    assert isinstance(first, Admitted)
    assert isinstance(again, Admitted)
    assert isinstance(other, Admitted)
    assert first.key == again.key != other.key


def _completion_ttl(options: Options, key: str) -> float:
    steps = exchange(options, Request("POST", "/orders", body=BODY), key)
    next(steps)
    assert isinstance(steps.send(claimed()), Execute)
    step = steps.send(AppResult(201, (), False, RESPONSE))
    assert isinstance(step, CompleteStep)
    return step.ttl


def test_a_window_record_lasts_the_window() -> None:
    options = build(auto_window=5, ttl=3600)
    admitted = admit(options, ReadBody(LIMIT), head(), BODY)
    assert isinstance(admitted, Admitted)
    assert _completion_ttl(options, admitted.key) == 5.0
    assert _completion_ttl(options, "k1") == 3600.0


def test_routes_set_the_window() -> None:
    options = Options.build(store=MemoryStore(), routes={"/orders": {"auto_window": 10}})
    assert options.auto_window is None
    assert options.for_path("/orders").auto_window == 10.0


@pytest.mark.parametrize("value", [0, -1, "5", True, float("inf"), float("nan")])
def test_auto_window_must_be_positive_seconds(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="auto_window"):
        Options.build(store=MemoryStore(), auto_window=value)


@pytest.mark.parametrize("fingerprint", ["key-only", key_only])
def test_auto_window_needs_a_fingerprint_of_the_request(fingerprint: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"auto_window.*key-only"):
        Options.build(store=MemoryStore(), auto_window=5, fingerprint=fingerprint)
