"""Leases that outlive slow handlers: claims held while the app runs are renewed.

A client that timed out and retries must find the first attempt still holding its key
(SEMANTICS section 5), however long the handler takes. One renewer per process does it
for every claim: an asyncio task per event loop, or one daemon thread for sync servers.
Holding a claim costs a set insertion; only claims that have lived half their lease
are renewed, so a handler faster than that never causes a store call.

The renewer also retries a completion that could not be written when the response was
sent, renewing the lease meanwhile, so the record still completes once the store is back
and no duplicate takes the key over in between. A retried completion that finds the
record already completed under its own owner token had landed, its reply lost: that is
a completion, not a lost lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math
import threading
import time
import weakref
from dataclasses import dataclass, field
from enum import Enum

from idempotency_middleware.errors import StoreError
from idempotency_middleware.outcome_log import log_outcome
from idempotency_middleware.records import Record, RecordState, StoredResponse
from idempotency_middleware.steps import CompleteStep
from idempotency_middleware.stores import forks
from idempotency_middleware.stores.base import Store

__all__ = ["AsyncRenewer", "Held", "SyncRenewer", "async_renewer", "sync_renewer"]

_RENEW_AFTER = 0.5
"""Renew a lease once this fraction of it has passed since it was last set."""
_MAX_TICK = 1.0


@dataclass(eq=False, slots=True)
class Held:
    """One claim a handler is running under."""

    store: Store
    key: str
    owner: str
    lease: float
    completion: CompleteStep | None = None
    renewed_at: float = field(default_factory=time.monotonic)

    def due(self, now: float) -> bool:
        return self.completion is not None or self.renewal_due(now)

    def renewal_due(self, now: float) -> bool:
        return now - self.renewed_at >= self.lease * _RENEW_AFTER


class _Attempt(Enum):
    """What one renewal or completion retry found."""

    COMPLETED = "completed"
    RENEWED = "renewed"
    LOST = "lost"


def _landed(record: Record | None, owner: str) -> bool:
    """The record is completed under ``owner``'s token: its completion went through."""
    return record is not None and record.state is RecordState.COMPLETED and record.owner == owner


def _arguments(step: CompleteStep) -> tuple[str, str, StoredResponse | None, float]:
    return step.key, step.owner, step.response, step.ttl


def _tick(held: list[Held]) -> float:
    shortest = min((h.lease for h in held), default=_MAX_TICK * 4)
    return max(0.005, min(_MAX_TICK, shortest * _RENEW_AFTER / 2))


class AsyncRenewer:
    """Renews the claims held on one event loop, from one task that lives while any is held."""

    def __init__(self) -> None:
        self._held: set[Held] = set()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        forks.register(self)

    def hold(
        self,
        store: Store,
        key: str,
        owner: str,
        lease: float,
        completion: CompleteStep | None = None,
        renewed_at: float | None = None,
    ) -> Held:
        """Keep renewing ``owner``'s claim on ``key`` until :meth:`drop`; with
        ``completion``, retry it until it is written or the lease is lost. ``renewed_at``
        is when the lease was last set (``time.monotonic()``), if not now."""
        held = Held(store, key, owner, lease, completion, renewed_at or time.monotonic())
        self._held.add(held)
        if self._task is None or self._task.done():
            # A fresh context: the renewer serves every request, so it must not carry
            # the first one's context variables (asgiref's thread-sensitive executor).
            loop = asyncio.get_running_loop()
            self._task = contextvars.Context().run(loop.create_task, self._run())
        elif lease * _RENEW_AFTER / 2 < _MAX_TICK:
            # A lease shorter than the renewer's current sleep must not wait it out.
            self._wake.set()
        return held

    def drop(self, held: Held) -> None:
        """Stop renewing: the handler is done, its record about to be completed or released."""
        self._held.discard(held)

    def after_fork(self) -> None:
        # The parent's claims are the parent's to renew; its task does not run here.
        self._held = set()
        self._task = None

    async def _run(self) -> None:
        while self._held:
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _tick(list(self._held)))
            now = time.monotonic()
            due = [held for held in self._held if held.due(now)]
            if due:
                await asyncio.gather(*(self._renew(held, now) for held in due))

    async def _renew(self, held: Held, now: float) -> None:
        try:
            attempt = await self._attempt(held, now)
        except StoreError:
            log_outcome("renewal-failed", held.key)
            return
        if attempt is _Attempt.RENEWED:
            held.renewed_at = now
        elif held in self._held:
            self._held.discard(held)
            completed = attempt is _Attempt.COMPLETED
            log_outcome("completed-late" if completed else "lease-lost", held.key)

    @staticmethod
    async def _attempt(held: Held, now: float) -> _Attempt:
        if held.completion is None:
            kept = await held.store.arenew(held.key, held.owner, held.lease)
            return _Attempt.RENEWED if kept else _Attempt.LOST
        try:
            if await held.store.acomplete(*_arguments(held.completion)):
                return _Attempt.COMPLETED
            kept = False
        except StoreError:
            # SEMANTICS 5: the lease is renewed while the completion cannot be written.
            if not held.renewal_due(now):
                raise
            kept = await held.store.arenew(held.key, held.owner, held.lease)
        if kept:
            return _Attempt.RENEWED
        # An earlier attempt may have landed with its reply lost.
        landed = _landed(await held.store.aget(held.key), held.owner)
        return _Attempt.COMPLETED if landed else _Attempt.LOST


class SyncRenewer:
    """Renews the claims held by the threads of one process, from one daemon thread."""

    def __init__(self) -> None:
        self.after_fork()
        forks.register(self)

    def after_fork(self) -> None:
        """Start afresh (in a forked child too): no claims, no thread, a lock nobody holds.
        The parent's claims are the parent's to renew, its thread does not exist here, and
        its lock may have been held by that thread at the fork."""
        self._held: set[Held] = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._waiting = math.inf
        """How long the thread's current wait lasts; infinite until it starts."""

    def hold(
        self,
        store: Store,
        key: str,
        owner: str,
        lease: float,
        completion: CompleteStep | None = None,
        renewed_at: float | None = None,
    ) -> Held:
        """Keep renewing ``owner``'s claim on ``key`` until :meth:`drop`; with
        ``completion``, retry it until it is written or the lease is lost. ``renewed_at``
        is when the lease was last set (``time.monotonic()``), if not now."""
        held = Held(store, key, owner, lease, completion, renewed_at or time.monotonic())
        with self._lock:
            self._held.add(held)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="idempotency-renewer", daemon=True
                )
                self._thread.start()
            # Waking the thread costs a context switch: only for a lease it would miss.
            if _tick([held]) < self._waiting:
                self._wake.notify()
        return held

    def drop(self, held: Held) -> None:
        """Stop renewing: the handler is done, its record about to be completed or released."""
        with self._lock:
            self._held.discard(held)

    def clear(self) -> None:
        """Stop renewing every claim (for tests that abandon requests midway)."""
        with self._lock:
            self._held.clear()

    def _run(self) -> None:
        while True:
            with self._lock:
                # Idle too, the thread looks every _MAX_TICK, so that holding a claim
                # with a usual lease needs no wake-up (a context switch per request).
                self._waiting = _tick(list(self._held))
                # hold() notifies when a shorter lease arrives, cutting this wait short.
                self._wake.wait(self._waiting)
            now = time.monotonic()
            with self._lock:
                due = [held for held in self._held if held.due(now)]
            for held in due:
                self._renew(held, now)

    def _renew(self, held: Held, now: float) -> None:
        try:
            attempt = self._attempt(held, now)
        except StoreError:
            log_outcome("renewal-failed", held.key)
            return
        with self._lock:
            if attempt is _Attempt.RENEWED:
                held.renewed_at = now
                return
            settled = held in self._held
            self._held.discard(held)
        if settled:
            completed = attempt is _Attempt.COMPLETED
            log_outcome("completed-late" if completed else "lease-lost", held.key)

    @staticmethod
    def _attempt(held: Held, now: float) -> _Attempt:
        if held.completion is None:
            kept = held.store.renew(held.key, held.owner, held.lease)
            return _Attempt.RENEWED if kept else _Attempt.LOST
        try:
            if held.store.complete(*_arguments(held.completion)):
                return _Attempt.COMPLETED
            kept = False
        except StoreError:
            # SEMANTICS 5: the lease is renewed while the completion cannot be written.
            if not held.renewal_due(now):
                raise
            kept = held.store.renew(held.key, held.owner, held.lease)
        if kept:
            return _Attempt.RENEWED
        # An earlier attempt may have landed with its reply lost.
        landed = _landed(held.store.get(held.key), held.owner)
        return _Attempt.COMPLETED if landed else _Attempt.LOST


_async_renewers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRenewer] = (
    weakref.WeakKeyDictionary()
)
_sync_renewer = SyncRenewer()


_last_async: tuple[weakref.ref[asyncio.AbstractEventLoop], AsyncRenewer] | None = None
"""The loop asked for last and its renewer: a server runs one loop per thread."""


def async_renewer() -> AsyncRenewer:
    """The renewer of the running event loop."""
    global _last_async
    loop = asyncio.get_running_loop()
    last = _last_async
    if last is not None and last[0]() is loop:
        return last[1]
    renewer = _async_renewers.get(loop)
    if renewer is None:
        renewer = _async_renewers[loop] = AsyncRenewer()
    _last_async = (weakref.ref(loop), renewer)
    return renewer


def sync_renewer() -> SyncRenewer:
    """The renewer of this process."""
    return _sync_renewer
