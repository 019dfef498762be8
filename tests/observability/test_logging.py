"""The ``idempotency_middleware`` logger: one event per outcome, with structured fields,
and never a raw key, a credential or a body (SEMANTICS sections 3 and 8)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from tests.observability.conftest import (
    AUTHORIZATION,
    BODY_MARKER,
    RAW_KEY,
    SCENARIOS,
    Client,
    MakeClient,
    Scenario,
)

LOGGER = "idempotency_middleware"
FIELDS = (
    "idempotency_outcome",
    "idempotency_key_digest",
    "idempotency_scope_digest",
    "idempotency_route",
    "idempotency_method",
    "idempotency_status",
    "idempotency_duration_ms",
)


def key_for(scenario: Scenario) -> str | None:
    if scenario.fresh_key and scenario.key is not None:
        return f"{scenario.key}-{scenario.outcome}"
    return scenario.key


async def run(client: Client, scenario: Scenario) -> int:
    scenario.prepare(client.store)
    return await client.post(key_for(scenario), scenario.body)


def everything_in(record: logging.LogRecord) -> str:
    """All a handler could write of ``record``: message, args, attributes, traceback."""
    formatted = logging.Formatter().format(record)
    return "\n".join([formatted, repr(record.args), repr(vars(record))])


def attr(record: logging.LogRecord, name: str) -> Any:
    """The ``idempotency_<name>`` field of a log record."""
    return getattr(record, "idempotency_" + name)


def outcome_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and hasattr(r, "idempotency_outcome")]


async def test_every_outcome_is_one_event_with_its_fields(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(adapter, max_request_bytes=1000)
    caplog.set_level(logging.DEBUG, LOGGER)
    scope_digests = set()
    for scenario in SCENARIOS:
        caplog.clear()
        status = await run(client, scenario)
        assert status == scenario.status, scenario.outcome
        records = outcome_records(caplog)
        assert [attr(r, "outcome") for r in records] == [scenario.outcome]
        record = records[0]
        for name in FIELDS:
            assert hasattr(record, name), (scenario.outcome, name)
        assert attr(record, "route") == client.route
        assert attr(record, "method") == "POST"
        assert attr(record, "status") == scenario.status
        assert isinstance(attr(record, "duration_ms"), float)
        assert attr(record, "duration_ms") >= 0
        if scenario.keyed:
            key = key_for(scenario)
            assert key is not None
            assert attr(record, "key_digest") == client.key_digest(key)
            assert re.fullmatch(r"[0-9a-f]{16}", attr(record, "scope_digest"))
            scope_digests.add(attr(record, "scope_digest"))
        else:
            assert attr(record, "key_digest") == ""
            assert attr(record, "scope_digest") == ""
    # One caller throughout: one scope digest, which is not the credential's own digest.
    assert len(scope_digests) == 1


async def test_scope_digest_tells_callers_apart(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(adapter)
    caplog.set_level(logging.DEBUG, LOGGER)
    await client.post(authorization="Bearer alice")
    await client.post(authorization="Bearer bob")
    digests = [attr(r, "scope_digest") for r in outcome_records(caplog)]
    assert len(digests) == 2
    assert digests[0] != digests[1]


async def test_no_record_holds_a_raw_key_credential_or_body(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(adapter, max_request_bytes=1000)
    caplog.set_level(logging.DEBUG)
    for scenario in SCENARIOS:
        await run(client, scenario)
    fail_open = make_client(adapter, on_store_error="fail_open")
    fail_open.store.next_claim = "unavailable"
    assert await fail_open.post() == 201
    seen = {getattr(r, "idempotency_outcome", None) for r in caplog.records}
    assert seen >= {s.outcome for s in SCENARIOS} | {"fail-open"}
    assert client.calls, "the app saw the body, so the marker was there to leak"
    for record in caplog.records:
        logged = everything_in(record)
        for secret in (RAW_KEY, AUTHORIZATION, "credential-c0ffee", BODY_MARKER):
            assert secret not in logged, (record.getMessage(), secret)


async def test_fail_open_is_an_error_without_a_status(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(adapter, on_store_error="fail_open")
    caplog.set_level(logging.DEBUG, LOGGER)
    client.store.next_claim = "unavailable"
    assert await client.post() == 201
    [record] = outcome_records(caplog)
    assert attr(record, "outcome") == "fail-open"
    assert record.levelno == logging.ERROR
    assert attr(record, "status") is None
    assert attr(record, "key_digest") == client.key_digest()


async def test_ordinary_outcomes_are_debug_and_failures_are_errors(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(adapter)
    caplog.set_level(logging.DEBUG, LOGGER)
    await client.post()
    client.store.next_claim = "unavailable"
    await client.post(key=RAW_KEY + "-down")
    levels = {attr(r, "outcome"): r.levelno for r in outcome_records(caplog)}
    assert levels == {"executed": logging.DEBUG, "store-unavailable": logging.ERROR}
