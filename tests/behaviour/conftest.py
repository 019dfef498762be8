"""The behaviour suite's fixtures: ``client`` is the test app of one adapter on a fresh
store, and every test that uses it runs once per adapter that can express its rule."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from idempotency_middleware.stores import MemoryStore, Store
from tests.behaviour.adapters import BUILDERS
from tests.behaviour.capabilities import ADAPTERS, CANNOT
from tests.behaviour.client import Client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "expresses(rule): only for the adapters that can express the rule"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "adapter" not in metafunc.fixturenames:
        return
    rules = {marker.args[0] for marker in metafunc.definition.iter_markers("expresses")}
    metafunc.parametrize("adapter", [a for a in ADAPTERS if not rules & CANNOT[a].keys()])


class MakeClient(Protocol):
    def __call__(self, *, store: Store | None = None, **options: Any) -> Client: ...


@pytest.fixture
def make_client(adapter: str, tmp_path: Path) -> Iterator[MakeClient]:
    """Build the adapter's app with the middleware's ``options`` on ``store`` (a fresh
    MemoryStore by default)."""
    with contextlib.ExitStack() as stack:
        built = 0

        def make(*, store: Store | None = None, **options: Any) -> Client:
            nonlocal built
            built += 1
            store = MemoryStore() if store is None else store
            return BUILDERS[adapter](stack, store, options, tmp_path / f"app{built}")

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> Client:
    return make_client()
