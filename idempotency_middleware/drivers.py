"""The two small drivers that perform the protocol's steps against a store.

They are the only place where sync and async code look alike: each feeds the
generator of :func:`~idempotency_middleware.protocol.exchange` the result of the step
it asked for, until the step is one for the adapter (respond, execute, done).
"""

from __future__ import annotations

from typing import Any

from idempotency_middleware.errors import StoreError
from idempotency_middleware.events import log_outcome
from idempotency_middleware.protocol import Exchange
from idempotency_middleware.steps import AppResult, ClaimStep, Done, Execute, Respond, StoreStep
from idempotency_middleware.stores.base import Store

__all__ = ["AsyncDriver", "SyncDriver"]


class _Driver:
    def __init__(self, store: Store, steps: Exchange) -> None:
        self._store = store
        self._steps = steps
        self._key = ""

    def _next(self, value: Any, error: StoreError | None) -> Any:
        try:
            step = self._steps.throw(error) if error is not None else self._steps.send(value)
        except StopIteration:
            return Done("fail-open")
        if isinstance(step, ClaimStep):
            self._key = step.key
        # Execute is logged by the Done that follows it, unless nothing will follow.
        if not isinstance(step, StoreStep) and not (isinstance(step, Execute) and step.protected):
            log_outcome(step.outcome, self._key)
        return step


class SyncDriver(_Driver):
    """Runs an exchange with the store's sync face (Django, Flask, WSGI)."""

    def _advance(self, value: Any) -> Any:
        error: StoreError | None = None
        while True:
            step = self._next(value, error)
            if not isinstance(step, StoreStep):
                return step
            error = None
            try:
                value = step.run(self._store)
            except StoreError as exc:
                error = exc

    def begin(self) -> Respond | Execute:
        """Run until the adapter must answer the client or call the app."""
        step: Respond | Execute = self._advance(None)
        return step

    def finish(self, result: AppResult) -> Done:
        """Hand the app's result back; completes or releases the record."""
        done: Done = self._advance(result)
        return done


class AsyncDriver(_Driver):
    """Runs an exchange with the store's async face (ASGI)."""

    async def _advance(self, value: Any) -> Any:
        error: StoreError | None = None
        while True:
            step = self._next(value, error)
            if not isinstance(step, StoreStep):
                return step
            error = None
            try:
                value = await step.arun(self._store)
            except StoreError as exc:
                error = exc

    async def begin(self) -> Respond | Execute:
        """Run until the adapter must answer the client or call the app."""
        step: Respond | Execute = await self._advance(None)
        return step

    async def finish(self, result: AppResult) -> Done:
        """Hand the app's result back; completes or releases the record."""
        done: Done = await self._advance(result)
        return done
