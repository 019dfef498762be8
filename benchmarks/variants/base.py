"""What a variant is: an app to call, and how to empty, build and close its store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from benchmarks.app import Calls
from benchmarks.services import Services
from idempotency_middleware.asgi.types import ASGIApp

__all__ = ["Variant", "VariantSpec", "nothing"]


async def nothing() -> None:
    """A reset or close with nothing to do."""


@dataclass
class Variant:
    """A built variant: ``app`` serves the benchmark app through its middleware.

    ``reset`` empties its store between measurements (out of the timed part), so every
    measurement starts from the same state; ``close`` releases its connections.
    """

    app: ASGIApp
    calls: Calls
    reset: Callable[[], Awaitable[None]] = nothing
    close: Callable[[], Awaitable[None]] = nothing


@dataclass(frozen=True)
class VariantSpec:
    """How to build a variant, and what to say next to its numbers.

    ``needs`` names the servers it talks to (``postgres``, ``redis``); ``wire`` is True
    when its store is reached over a socket, so its round trips can be counted.
    ``caveat`` says what it does not do that ours does, ``lacks`` the same in a few
    words for the table's last column. ``missing`` returns why it
    cannot be built here (a package not installed), or None.
    """

    name: str
    family: str
    store: str
    build: Callable[[Services], Awaitable[Variant]]
    caveat: str = ""
    lacks: str = ""
    needs: tuple[str, ...] = ()
    wire: bool = False
    protects: bool = True
    missing: Callable[[], str | None] = field(default=lambda: None)
