"""The bare app: no middleware. Every ratio in the tables is to it."""

from __future__ import annotations

from benchmarks.app import create_app
from benchmarks.services import Services
from benchmarks.variants.base import Variant, VariantSpec

__all__ = ["BARE"]


async def _build(services: Services) -> Variant:
    app, calls = create_app()
    return Variant(app, calls)


BARE = VariantSpec(
    "bare",
    family="bare",
    store="-",
    build=_build,
    caveat="no middleware: the handler runs on every request, replays included",
    lacks="(reference: no idempotency)",
    protects=False,
)
