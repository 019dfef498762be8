"""The behaviour suite's fixtures: ``client`` is the test app of one adapter on a fresh
store, and every test that uses it runs once per adapter that can express its rule;
``store_client`` runs it on every store kind too."""

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
from tests.stores.faces import KINDS, fresh_store

STORE_ADAPTERS = ("starlette", "wsgi")
"""The adapters a ``store_client`` test runs on with every store kind, the others only on
memory: how a store keeps records apart does not depend on the framework in front of it,
so the bare ASGI and WSGI middleware stand for the rest."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "expresses(rule): only for the adapters that can express the rule"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "adapter" not in metafunc.fixturenames:
        return
    rules = {marker.args[0] for marker in metafunc.definition.iter_markers("expresses")}
    adapters = [a for a in ADAPTERS if not rules & CANNOT[a].keys()]
    if "store_kind" not in metafunc.fixturenames:
        metafunc.parametrize("adapter", adapters)
        return
    metafunc.parametrize(
        ("adapter", "store_kind"),
        [
            pytest.param(adapter, *kind.values, marks=kind.marks)
            for kind in KINDS
            for adapter in adapters
            if kind.values == ("memory",) or adapter in STORE_ADAPTERS
        ],
    )


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


@pytest.fixture
def store_client(store_kind: str, tmp_path: Path, make_client: MakeClient) -> Iterator[Client]:
    """``client`` on a fresh store of ``store_kind``."""
    with fresh_store(store_kind, tmp_path) as store:
        yield make_client(store=store)
