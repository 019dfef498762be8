"""A retrying HTTP client meets a request still in progress (SEMANTICS section 5): the
409's Retry-After is a short poll hint, so a client that honours it (urllib3's ``Retry``,
set up as docs/clients.md shows) gets the original response soon after the handler
ends, not once the lease has run out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.snippets.clients_requests import requests_session
from tests.faults.server_app import RunsConfig, environment, runs
from tests.support.servers import Server, running_server

pytestmark = pytest.mark.server

LEASE = 60.0
HANDLER_SECONDS = 1.5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    config: RunsConfig = {
        "store_url": "memory://",
        "store_options": {},
        "runs_path": str(tmp_path / "runs"),
        "delay": HANDLER_SECONDS,
        "options": {"lease": LEASE},
    }
    with running_server(
        "tests.faults.server_app:counted_app",
        log_path=tmp_path / "server.log",
        env=environment(config),
        workers=1,
    ) as running:
        yield running, Path(config["runs_path"])


def test_urllib3_retry_gets_the_original_response_well_before_the_lease(
    server: tuple[Server, Path],
) -> None:
    running, runs_path = server
    session = requests_session()
    started = time.monotonic()
    with session:
        # The first attempt times out while its handler runs; urllib3 retries at once
        # (409 in progress), then after Retry-After, and gets the original response.
        response = session.post(
            running.base_url + "/orders",
            json={"item": "book"},
            headers={"Idempotency-Key": "slow-order"},
            timeout=0.5,
        )
    elapsed = time.monotonic() - started

    assert response.status_code == 201
    assert response.headers["idempotent-replayed"] == "true"
    assert response.json()["key"] == "slow-order"
    assert [key for key, _ in runs(runs_path)] == ["slow-order"]
    # A behaviour bound, not a benchmark: the client was not sent away for the lease.
    assert elapsed < 15
