"""pytest fixtures for the tests of an app behind the middleware.

Installing the package registers this plugin (the ``pytest11`` entry point
``idempotency_middleware.pytest_plugin``; ``-p no:idempotency_middleware.pytest_plugin``
turns it off). Its fixtures are used only when a test asks for them: none is autouse, and
no framework is imported. The assertions are in :mod:`idempotency_middleware.testing`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.stores.memory import MemoryStore
from idempotency_middleware.testing import IdempotentClient

__all__ = ["idempotency_clock", "idempotency_store", "idempotent_client"]


@pytest.fixture
def idempotency_clock() -> ManualClock:
    """The clock of :func:`idempotency_store`: it moves only when the test says so;
    ``idempotency_clock.advance(86_401)`` goes past the default retention."""
    return ManualClock()


@pytest.fixture
def idempotency_store(idempotency_clock: ManualClock) -> Iterator[MemoryStore]:
    """A :class:`~idempotency_middleware.stores.MemoryStore` of this test's own, on
    :func:`idempotency_clock`, for the app factory or the settings of the test."""
    store = MemoryStore(clock=idempotency_clock)
    yield store
    store.clear()


@pytest.fixture
def idempotent_client(request: pytest.FixtureRequest) -> IdempotentClient[Any]:
    """The test's ``client`` fixture (your own, or pytest-django's and pytest-flask's) in
    an :class:`~idempotency_middleware.testing.IdempotentClient`: each POST, PUT, PATCH
    and DELETE carries a fresh key, and ``resend()`` repeats the last one."""
    try:
        client = request.getfixturevalue("client")
    except pytest.FixtureLookupError as error:
        if error.argname != "client":
            raise
        pytest.fail(
            "idempotent_client wraps your `client` fixture, and there is none: define one "
            "that gives your test client (httpx.Client, Starlette's TestClient, Flask's "
            "app.test_client(), Django's Client), or wrap a client in "
            "idempotency_middleware.testing.IdempotentClient(client)",
            pytrace=False,
        )
    return IdempotentClient(client)
