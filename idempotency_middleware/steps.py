"""The steps the protocol asks its driver to take, and the answers it expects back.

Steps are plain data: a driver step names one store operation or a wait, which the
sync driver performs with the store's sync face and ``time.sleep``, the async driver
with its async face and ``asyncio.sleep``, so the decision logic exists once and does
no I/O.

Several steps are made for every request, so they are slotted dataclasses rather than
frozen ones, whose ``__init__`` costs four times as much; nothing changes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from idempotency_middleware.records import Headers, StoredResponse

__all__ = [
    "AppResult",
    "ClaimStep",
    "CompleteStep",
    "Done",
    "DriverStep",
    "Execute",
    "ReleaseStep",
    "Respond",
    "Sleep",
]


class DriverStep:
    """A step the driver performs itself, sending back what it returned."""

    __slots__ = ()


@dataclass(slots=True)
class ClaimStep(DriverStep):
    key: str
    owner: str
    fingerprint: str
    lease: float


@dataclass(slots=True)
class CompleteStep(DriverStep):
    key: str
    owner: str
    response: StoredResponse | None
    ttl: float


@dataclass(slots=True)
class ReleaseStep(DriverStep):
    key: str
    owner: str


@dataclass(slots=True)
class Sleep(DriverStep):
    """Wait before claiming again (``in_flight="wait"``)."""

    seconds: float


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
