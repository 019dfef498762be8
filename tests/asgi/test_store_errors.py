"""An unavailable store, a failed completion, and what operators see in the logs
(SEMANTICS sections 5, 7 and 8)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from idempotency_middleware import MemoryStore, RecordState, StoredResponse, StoreError
from idempotency_middleware.records import Claim
from tests.asgi.conftest import MakeService, assert_problem

LOGGER = "idempotency_middleware"


class ClaimFailsStore(MemoryStore):
    """A store that cannot be reached."""

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        raise StoreError("connection refused")


class CompleteFailsOnceStore(MemoryStore):
    """A store whose first completion is lost (a dropped connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def acomplete(
        self, key: str, owner: str, response: StoredResponse | None, ttl: float
    ) -> bool:
        if self.failures:
            self.failures -= 1
            raise StoreError("connection reset")
        return await super().acomplete(key, owner, response, ttl)


def outcomes(caplog: pytest.LogCaptureFixture) -> list[tuple[str, int]]:
    return [
        (str(getattr(r, "idempotency_outcome", r.getMessage())), r.levelno)
        for r in caplog.records
        if r.name == LOGGER
    ]


async def test_store_unavailable_fails_closed_by_default(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(store=ClaimFailsStore())
    caplog.set_level(logging.DEBUG, LOGGER)
    response = await service.post("/orders", "down", json_body={})
    assert_problem(response, 503, "store-unavailable")
    assert int(response.headers["retry-after"]) >= 1
    assert service.calls["/orders"] == 0
    assert ("store-unavailable", logging.ERROR) in outcomes(caplog)


async def test_store_unavailable_fails_open_when_configured(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(store=ClaimFailsStore(), on_store_error="fail_open")
    caplog.set_level(logging.DEBUG, LOGGER)
    responses = [await service.post("/orders", "down", json_body={}) for _ in range(2)]
    assert [r.status_code for r in responses] == [201, 201]
    assert [r.json()["run"] for r in responses] == [1, 2]  # unprotected
    assert all("idempotent-replayed" not in r.headers for r in responses)
    assert ("fail-open", logging.ERROR) in outcomes(caplog)


async def test_failed_completion_still_sends_the_response(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(store=CompleteFailsOnceStore())
    caplog.set_level(logging.DEBUG, LOGGER)
    response = await service.post("/orders", "lost", json_body={"a": 1})
    assert response.status_code == 201
    assert response.json()["run"] == 1
    assert response.headers["location"] == "/orders/1"
    assert ("completion-failed", logging.ERROR) in outcomes(caplog)


async def test_failed_completion_is_retried(make_service: MakeService) -> None:
    service = make_service(store=CompleteFailsOnceStore())
    first = await service.post("/orders", "lost", json_body={"a": 1})
    for _ in range(100):
        record = await service.record("lost")
        if record is not None and record.state is RecordState.COMPLETED:
            break
        await asyncio.sleep(0.01)
    replay = await service.post("/orders", "lost", json_body={"a": 1})
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()


async def test_logs_name_outcomes_but_never_keys_bodies_or_credentials(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service()
    caplog.set_level(logging.DEBUG, LOGGER)
    raw = "raw-key-f00dfeed"
    body = {"card": "body-secret-4242"}
    auth = {"Authorization": "Bearer credential-c0ffee"}
    await service.post("/orders", raw, json_body=body, headers=auth)
    await service.post("/orders", raw, json_body=body, headers=auth)
    await service.post("/orders", raw, json_body={"a": 2}, headers=auth)
    seen = [outcome for outcome, _ in outcomes(caplog)]
    assert "executed" in seen
    assert "replayed" in seen
    assert "mismatch" in seen
    for record in caplog.records:
        logged = record.getMessage() + repr(vars(record))
        for secret in (raw, "body-secret-4242", "credential-c0ffee"):
            assert secret not in logged


async def test_invalid_key_is_logged(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service()
    caplog.set_level(logging.DEBUG, LOGGER)
    response = await service.post("/orders", "a,b", json_body={})
    assert response.status_code == 400
    assert "key-invalid" in [outcome for outcome, _ in outcomes(caplog)]
