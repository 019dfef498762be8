"""The ``on_outcome`` option: one frozen event per outcome, for metrics; a callback that
raises never breaks the request (SEMANTICS section 8)."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from idempotency_middleware import ConfigurationError, MemoryStore, Options
from idempotency_middleware.outcomes import OutcomeEvent
from tests.observability.conftest import RAW_KEY, SCENARIOS, MakeClient
from tests.observability.test_logging import run


async def test_called_once_per_outcome_with_a_frozen_event(
    adapter: str, make_client: MakeClient
) -> None:
    events: list[OutcomeEvent] = []
    client = make_client(adapter, on_outcome=events.append, max_request_bytes=1000)
    for scenario in SCENARIOS:
        await run(client, scenario)
    assert [e.outcome for e in events] == [s.outcome for s in SCENARIOS]
    assert [e.status for e in events] == [s.status for s in SCENARIOS]
    assert [e.replayed for e in events] == [s.outcome == "replayed" for s in SCENARIOS]
    for event in events:
        assert event.route == client.route
        assert event.method == "POST"
        assert event.duration >= 0
        assert RAW_KEY not in repr(event)
    assert events[0].key_digest == events[1].key_digest == client.key_digest()
    with pytest.raises(dataclasses.FrozenInstanceError):
        events[0].outcome = "changed"  # type: ignore[misc]


async def test_a_raising_callback_does_not_break_the_request(
    adapter: str, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: OutcomeEvent) -> None:
        raise RuntimeError("metrics backend down")

    client = make_client(adapter, on_outcome=broken)
    caplog.set_level(logging.WARNING, "idempotency_middleware")
    assert await client.post() == 201
    assert await client.post() == 201  # the replay
    assert len(client.calls) == 1
    failures = [r for r in caplog.records if "on_outcome raised" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.ERROR
    assert failures[0].exc_info is not None


def test_a_callback_that_is_not_callable_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="on_outcome must be a function"):
        Options.build(store=MemoryStore(), on_outcome="metrics.record")  # type: ignore[arg-type]
