"""The store contract of tests/stores, collected again for the Django stores.

A test module imports :func:`contract_tests` into its namespace and defines the
fixtures the contract asks for (``kind``, ``clock``, ``sync_store``, ``face``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connections
from django.db.backends.utils import CursorWrapper

from idempotency_middleware.django import DatabaseStore
from tests.stores import test_contract

_T = TypeVar("_T")


def contract_tests(*, without: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The contract's test functions, but those named in ``without``."""
    return {
        name: test
        for name, test in vars(test_contract).items()
        if name.startswith("test_") and name not in without
    }


class TidyDatabaseStore(DatabaseStore):
    """The database store, closing the connections the contract's threads and tasks open.

    Django keeps a connection per thread, and per task where an event loop runs (the
    contract calls the sync face from async tests), and closes it at the end of a
    request. The contract makes no requests: a connection left open would be dropped
    unclosed, and would keep the test database from being dropped.
    """

    def _run(self, operation: Callable[[CursorWrapper, Any], _T]) -> _T:
        try:
            return super()._run(operation)
        finally:
            if threading.current_thread() is not threading.main_thread() or _in_event_loop():
                connections[self.using].close()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
