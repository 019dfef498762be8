"""Fixtures shared by every layer of the suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idempotency_middleware.renewal import sync_renewer

# The plugin is what installing the package registers (the pytest11 entry point): the suite
# runs with it whether or not the package is installed, and the example apps' tests use its
# fixtures. pytester runs users' suites in tests/testing; pytest takes pytest_plugins from
# the top conftest only.
pytest_plugins = ["idempotency_middleware.pytest_plugin", "pytester"]


@pytest.fixture(autouse=True)
def _abandoned_claims_are_not_renewed() -> Iterator[None]:
    # Tests that begin a request and never finish it would leave its claim to the
    # process-wide renewer, which would then log about it during later tests.
    yield
    sync_renewer().clear()
