"""The steps the protocol asks its driver to take, and the answers it expects back.

Store steps name one store operation; the sync driver calls its sync face and the
async driver its async face, so the decision logic exists once.

Several steps are made for every request, so they are slotted dataclasses rather than
frozen ones, whose ``__init__`` costs four times as much; nothing changes them.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from idempotency_middleware.records import Claim, Headers, StoredResponse
from idempotency_middleware.stores.base import Store

__all__ = [
    "AppResult",
    "ClaimStep",
    "CompleteStep",
    "Done",
    "Execute",
    "ReleaseStep",
    "Respond",
    "Sleep",
    "StoreStep",
]


class StoreStep:
    """A step the driver performs, sending back what it returned."""

    __slots__ = ()

    def run(self, store: Store) -> Any:
        raise NotImplementedError

    async def arun(self, store: Store) -> Any:
        raise NotImplementedError


@dataclass(slots=True)
class ClaimStep(StoreStep):
    key: str
    owner: str
    fingerprint: str
    lease: float

    def run(self, store: Store) -> Claim:
        return store.claim(self.key, self.owner, self.fingerprint, self.lease)

    async def arun(self, store: Store) -> Claim:
        return await store.aclaim(self.key, self.owner, self.fingerprint, self.lease)


@dataclass(slots=True)
class CompleteStep(StoreStep):
    key: str
    owner: str
    response: StoredResponse | None
    ttl: float

    def run(self, store: Store) -> bool:
        return store.complete(self.key, self.owner, self.response, self.ttl)

    async def arun(self, store: Store) -> bool:
        return await store.acomplete(self.key, self.owner, self.response, self.ttl)


@dataclass(slots=True)
class ReleaseStep(StoreStep):
    key: str
    owner: str

    def run(self, store: Store) -> bool:
        return store.release(self.key, self.owner)

    async def arun(self, store: Store) -> bool:
        return await store.arelease(self.key, self.owner)


@dataclass(slots=True)
class Sleep(StoreStep):
    """Wait before claiming again (``in_flight="wait"``)."""

    seconds: float

    def run(self, store: Store) -> None:
        time.sleep(self.seconds)

    async def arun(self, store: Store) -> None:
        await asyncio.sleep(self.seconds)


@dataclass(slots=True)
class Respond:
    """Answer the client with ``response`` instead of calling the app."""

    response: StoredResponse
    outcome: str


@dataclass(slots=True)
class Execute:
    """Call the app; ``protected`` is False when failing open without a store."""

    protected: bool
    outcome: str


@dataclass(slots=True)
class Done:
    """The exchange is over; ``outcome`` names what happened to the record."""

    outcome: str


@dataclass(slots=True)
class AppResult:
    """What the app produced, as the driver hands it back after :class:`Execute`.

    ``raised`` is True when the app raised or ended without a complete response;
    ``response`` is None when the body outgrew the capture limit. ``started`` is True
    once the response's status line went out: the handler ran and answered, so the
    record is completed even if the body was then cut short (SEMANTICS 5). ``rejected``
    is True when the framework refused the request before the handler ran (request
    validation).
    """

    status: int
    headers: Headers
    raised: bool
    response: StoredResponse | None
    started: bool = False
    rejected: bool = False
