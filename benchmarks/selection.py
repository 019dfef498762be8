"""Which variants this run can build: installed, and with their servers reachable."""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.services import Services, reachable
from benchmarks.variants import VariantSpec

__all__ = ["select"]


def select(
    specs: Iterable[VariantSpec], services: Services, only: Iterable[str] = ()
) -> tuple[list[VariantSpec], list[str]]:
    """The specs to run (the bare app always first), and a note for each one skipped.

    ``only`` keeps the variants whose name contains one of its words.
    """
    wanted = [word for word in only if word]
    down = {name: reachable(services, name) for name in ("postgres", "redis")}
    chosen, notes = [], []
    for spec in specs:
        if wanted and spec.family != "bare" and not any(word in spec.name for word in wanted):
            continue
        reason = spec.missing() or next((down[n] for n in spec.needs if down[n]), None)
        if reason is not None:
            notes.append(f"skipped {spec.name}: {reason}")
            continue
        chosen.append(spec)
    return chosen, notes
