"""The variants measured: the bare app, ours on each store, and the peers from PyPI.

A variant is the same app (:mod:`benchmarks.app`) behind one middleware and store. Each
says what it does not do that ours does, so every ratio is read next to its caveat.
"""

from __future__ import annotations

from benchmarks.variants.base import Variant, VariantSpec
from benchmarks.variants.ours import OURS_SPECS
from benchmarks.variants.peer_fastapi_idempotency_key import FASTAPI_IDEMPOTENCY_KEY_SPECS
from benchmarks.variants.peer_fastidempotent import FASTIDEMPOTENT_SPECS
from benchmarks.variants.peer_header import HEADER_SPECS
from benchmarks.variants.peer_idemkit import IDEMKIT_SPECS
from benchmarks.variants.plain import BARE

__all__ = ["ALL_SPECS", "BARE", "Variant", "VariantSpec"]

ALL_SPECS: tuple[VariantSpec, ...] = (
    BARE,
    *OURS_SPECS,
    *HEADER_SPECS,
    *IDEMKIT_SPECS,
    *FASTAPI_IDEMPOTENCY_KEY_SPECS,
    *FASTIDEMPOTENT_SPECS,
)
"""Every ASGI variant, the bare app first: every ratio is to it."""
