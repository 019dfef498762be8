"""Fixtures shared by every layer of the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idempotency_middleware.renewal import sync_renewer

# What installing the package registers (the pytest11 entry point): the suite runs with the
# plugin whether or not it is installed, and the example apps' tests use its fixtures.
pytest_plugins = ["idempotency_middleware.pytest_plugin"]


@pytest.fixture(autouse=True)
def _abandoned_claims_are_not_renewed() -> Iterator[None]:
    # Tests that begin a request and never finish it would leave its claim to the
    # process-wide renewer, which would then log about it during later tests.
    yield
    sync_renewer().clear()
