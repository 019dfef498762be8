"""The two small drivers that perform the protocol's steps against a store.

They are the only place where sync and async code look alike, and the only place the
steps meet a store, a clock or an event loop: each feeds the generator of
:func:`~idempotency_middleware.protocol.exchange` the result of the step it asked for
(:func:`perform` or :func:`aperform`), until the step is one for the adapter (respond,
execute, done).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from idempotency_middleware.errors import StoreError
from idempotency_middleware.outcome_log import Report, log_outcome
from idempotency_middleware.protocol import Exchange
from idempotency_middleware.renewal import (
    AsyncRenewer,
    Held,
    SyncRenewer,
    async_renewer,
    sync_renewer,
)
from idempotency_middleware.steps import (
    AppResult,
    ClaimStep,
    CompleteStep,
    Done,
    DriverStep,
    Execute,
    ReleaseStep,
    Respond,
    Sleep,
)
from idempotency_middleware.stores.base import Store

__all__ = ["AsyncDriver", "SyncDriver", "aperform", "perform"]

Renewer = AsyncRenewer | SyncRenewer


def perform(store: Store, step: DriverStep) -> Any:
    """Take ``step`` with the store's sync face; what it returned goes back to the exchange."""
    if isinstance(step, ClaimStep):
        return store.claim(step.key, step.owner, step.fingerprint, step.lease)
    if isinstance(step, CompleteStep):
        return store.complete(step.key, step.owner, step.response, step.ttl)
    if isinstance(step, ReleaseStep):
        return store.release(step.key, step.owner)
    assert isinstance(step, Sleep)
    time.sleep(step.seconds)
    return None


async def aperform(store: Store, step: DriverStep) -> Any:
    """Take ``step`` with the store's async face."""
    if isinstance(step, ClaimStep):
        return await store.aclaim(step.key, step.owner, step.fingerprint, step.lease)
    if isinstance(step, CompleteStep):
        return await store.acomplete(step.key, step.owner, step.response, step.ttl)
    if isinstance(step, ReleaseStep):
        return await store.arelease(step.key, step.owner)
    assert isinstance(step, Sleep)
    await asyncio.sleep(step.seconds)
    return None


class _Driver:
    def __init__(self, store: Store, steps: Exchange, report: Report | None = None) -> None:
        self._store = store
        self._steps = steps
        self._report = report
        self._status: int | None = None
        self._claim: ClaimStep | None = None
        self._held: Held | None = None
        self._renewer: Renewer | None = None
        self._renewed_at: float | None = None
        self._failed: DriverStep | None = None

    @property
    def _lease(self) -> float:
        return 0.0 if self._claim is None else self._claim.lease

    @property
    def _key(self) -> str:
        return "" if self._claim is None else self._claim.key

    def _hold(self, step: Respond | Execute, renewer: Callable[[], Renewer]) -> None:
        # The lease is renewed while the app runs, whatever the client does (SEMANTICS 5).
        if type(step) is Execute and step.protected and self._claim is not None:
            claim = self._claim
            self._renewer = renewer()
            self._held = self._renewer.hold(self._store, claim.key, claim.owner, claim.lease)

    def _drop(self) -> None:
        if self._held is not None and self._renewer is not None:
            self._renewer.drop(self._held)
            self._renewed_at = self._held.renewed_at
            self._held = None

    def _retry_later(self, done: Done, renewer: Callable[[], Renewer]) -> None:
        # SEMANTICS 5: the response has gone out; the completion is retried while the
        # lease is renewed, so the record completes once the store is back.
        if done.outcome == "completion-failed" and isinstance(self._failed, CompleteStep):
            step = self._failed
            renewer().hold(
                self._store,
                step.key,
                step.owner,
                self._lease,
                completion=step,
                renewed_at=self._renewed_at,
            )

    def _next(self, value: Any, error: StoreError | None) -> Any:
        try:
            step = self._steps.throw(error) if error is not None else self._steps.send(value)
        except StopIteration:
            return Done("fail-open")
        kind = type(step)
        if kind is ClaimStep:
            self._claim = step
        # Execute is logged by the Done that follows it, unless nothing will follow.
        elif kind is Respond or kind is Done or (kind is Execute and not step.protected):
            if self._report is None:
                log_outcome(step.outcome, self._key)
            else:
                status = step.response.status if isinstance(step, Respond) else self._status
                self._report(step.outcome, status, self._key)
        return step


class SyncDriver(_Driver):
    """Runs an exchange with the store's sync face (Django, Flask, WSGI)."""

    def _advance(self, value: Any) -> Any:
        error: StoreError | None = None
        while True:
            step = self._next(value, error)
            if not isinstance(step, DriverStep):
                return step
            error = None
            try:
                value = perform(self._store, step)
            except StoreError as exc:
                error, self._failed = exc, step

    def begin(self) -> Respond | Execute:
        """Run until the adapter must answer the client or call the app."""
        step: Respond | Execute = self._advance(None)
        self._hold(step, sync_renewer)
        return step

    def finish(self, result: AppResult) -> Done:
        """Hand the app's result back; completes or releases the record."""
        self._drop()
        self._status = result.status or None
        done: Done = self._advance(result)
        self._retry_later(done, sync_renewer)
        return done


class AsyncDriver(_Driver):
    """Runs an exchange with the store's async face (ASGI)."""

    async def _advance(self, value: Any) -> Any:
        error: StoreError | None = None
        while True:
            step = self._next(value, error)
            if not isinstance(step, DriverStep):
                return step
            error = None
            try:
                if self._store.suspends or type(step) is Sleep:
                    value = await aperform(self._store, step)
                else:
                    # Its async faces would run the same code: spare their coroutines.
                    value = perform(self._store, step)
            except StoreError as exc:
                error, self._failed = exc, step

    async def begin(self) -> Respond | Execute:
        """Run until the adapter must answer the client or call the app."""
        step: Respond | Execute = await self._advance(None)
        self._hold(step, async_renewer)
        return step

    async def finish(self, result: AppResult) -> Done:
        """Hand the app's result back; completes or releases the record."""
        self._drop()
        self._status = result.status or None
        done: Done = await self._advance(result)
        self._retry_later(done, async_renewer)
        return done
