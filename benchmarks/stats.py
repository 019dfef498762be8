"""From raw measurements to table rows: medians over rounds, ratios to the bare app.

Each ratio is taken within one round, between a variant and the bare app measured
moments apart on the same requests, and the median of those per-round ratios is the one
reported: drift of a shared machine cancels out instead of landing on one variant.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Measurement", "Row", "percentile", "summarize"]


@dataclass
class Measurement:
    """One variant on one scenario at one concurrency, in one round.

    ``latencies_us`` holds every request's latency where the driver timed each one;
    otherwise ``p50_us`` and ``p99_us`` come from the load generator.
    """

    variant: str
    scenario: str
    concurrency: int
    round: int
    requests: int
    seconds: float
    latencies_us: list[float] = field(default_factory=list, repr=False)
    p50_us: float | None = None
    p99_us: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Row:
    """One line of a table."""

    variant: str
    scenario: str
    concurrency: int
    rounds: int
    requests_per_second: float
    ratio: float
    added_us: float
    p50_us: float
    p99_us: float
    round_trips: float | None
    caveat: str


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def summarize(
    measurements: Iterable[Measurement],
    *,
    references: Mapping[str, str],
    round_trips: Mapping[tuple[str, str, int], float],
    caveats: Mapping[str, str],
) -> list[Row]:
    """The rows of one driver's table; ``references`` maps each variant to the bare app
    its ratios are to."""
    groups: dict[tuple[str, str, int], list[Measurement]] = defaultdict(list)
    for measurement in measurements:
        key = (measurement.variant, measurement.scenario, measurement.concurrency)
        groups[key].append(measurement)
    rows = []
    for (variant, scenario, concurrency), cells in groups.items():
        bare = references[variant]
        reference = {m.round: m for m in groups.get((bare, scenario, concurrency), [])}
        paired = [(m, reference[m.round]) for m in cells if m.round in reference]
        ratio = statistics.median(m.rate / r.rate for m, r in paired) if paired else float("nan")
        added = (
            statistics.median(1e6 / m.rate - 1e6 / r.rate for m, r in paired)
            if paired
            else float("nan")
        )
        latencies = [value for m in cells for value in m.latencies_us]
        if latencies:
            p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        else:
            p50 = statistics.median(m.p50_us or 0.0 for m in cells)
            p99 = statistics.median(m.p99_us or 0.0 for m in cells)
        rows.append(
            Row(
                variant=variant,
                scenario=scenario,
                concurrency=concurrency,
                rounds=len(cells),
                requests_per_second=statistics.median(m.rate for m in cells),
                ratio=ratio,
                added_us=added,
                p50_us=p50,
                p99_us=p99,
                round_trips=round_trips.get((variant, scenario, concurrency)),
                caveat=caveats.get(variant, ""),
            )
        )
    return rows
