"""The in-process ASGI table, and the round trips every wire variant spends."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks.inprocess import Built, measure_rounds
from benchmarks.services import Services
from benchmarks.settings import CONCURRENCY, SCENARIOS, Mode
from benchmarks.stats import Measurement
from benchmarks.variants import VariantSpec
from benchmarks.wire import count_round_trips

__all__ = ["RoundTrips", "measure_inprocess", "round_trips"]

RoundTrips = dict[tuple[str, str, int], float]
"""Round trips per request, by variant, scenario and concurrency."""


async def measure_inprocess(
    specs: Sequence[VariantSpec], services: Services, mode: Mode, log: Callable[[str], None]
) -> list[Measurement]:
    """Every variant's ASGI app called in-process, in interleaved rounds."""
    builds = []
    try:
        for spec in specs:
            builds.append(Built(spec, await spec.build(services), {}))
        return await measure_rounds(builds, mode, log)
    finally:
        for built in builds:
            await built.variant.close()


async def round_trips(
    specs: Sequence[VariantSpec], services: Services, mode: Mode, log: Callable[[str], None]
) -> tuple[RoundTrips, list[str]]:
    """Store round trips per request: counted on the wire for network stores, 0 for
    memory stores, absent for the bare app and SQLite; and a note for each variant that
    opens new connections while it runs."""
    counts: RoundTrips = {}
    notes = []
    for spec in specs:
        if spec.store == "memory":
            counts.update({(spec.name, s.name, c): 0.0 for s in SCENARIOS for c in CONCURRENCY})
        elif spec.wire:
            per_cell = await count_round_trips(spec, services, mode.wire_requests)
            for (scenario, concurrency), count in per_cell.items():
                counts[spec.name, scenario, concurrency] = count.round_trips
                if count.connections >= 0.01:
                    notes.append(
                        f"{spec.name} opens {count.connections:.2f} new store connections per "
                        f"{scenario} request at {concurrency} in flight (its pool churns)"
                    )
            log(f"  counted round trips of {spec.name}")
    return counts, notes
