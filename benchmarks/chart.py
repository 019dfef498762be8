"""The PNG chart of a run: each variant's throughput as a ratio to the bare app."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["draw"]

_SCENARIOS = (("fresh", "#d95f02"), ("replay", "#1b9e77"), ("nokey", "#7570b3"))


def draw(path: Path, tables: dict[str, dict[str, Any]], *, mode: str) -> None:
    """One row of panels per driver (sequential, then 16 in flight), one group of bars per
    variant, a log scale with the bare app at 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    drivers = [name for name, table in tables.items() if table["rows"]]
    if not drivers:
        return
    heights = [max(2.0, 0.42 * len(_measured(tables[d])) + 1.0) for d in drivers]
    figure, axes = plt.subplots(
        len(drivers),
        2,
        figsize=(13, sum(heights) + 0.6),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    for row, driver in enumerate(drivers):
        variants = _measured(tables[driver])
        rows = [r for r in tables[driver]["rows"] if r.variant in variants]
        for column in range(2):
            levels = sorted({r.concurrency for r in rows})
            axis = axes[row][column]
            if column >= len(levels):
                axis.set_axis_off()
                continue
            concurrency = levels[column]
            _panel(axis, rows, variants, concurrency)
            in_flight = "sequential" if concurrency == 1 else f"{concurrency} in flight"
            axis.set_title(f"{tables[driver]['title'].split(' (')[0]}: {in_flight}", fontsize=9)
            if column == 1:
                axis.set_yticklabels([])
    handles = [Rectangle((0, 0), 1, 1, color=color) for _, color in _SCENARIOS]
    figure.legend(handles, [name for name, _ in _SCENARIOS], loc="upper right", ncol=3)
    figure.suptitle(
        f"Throughput as a ratio to the bare app (1 = no overhead; {mode} run)", fontsize=11
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _measured(table: dict[str, Any]) -> list[str]:
    """The variants of a table other than the bare apps, in table order."""
    references = table["references"]
    names = dict.fromkeys(row.variant for row in table["rows"])
    return [name for name in names if references[name] != name]


def _panel(axis: Any, rows: list[Any], variants: list[str], concurrency: int) -> None:
    by_key = {(r.variant, r.scenario): r.ratio for r in rows if r.concurrency == concurrency}
    height = 0.26
    for index, (scenario, color) in enumerate(_SCENARIOS):
        positions = [v + (1 - index) * height for v in range(len(variants))]
        values = [by_key.get((variant, scenario), math.nan) for variant in variants]
        axis.barh(positions, values, height=height, color=color)
        for y, value in zip(positions, values, strict=True):
            if not math.isnan(value):
                axis.text(value * 1.03, y, f"{value:.2f}", va="center", fontsize=6)
    axis.set_yticks(range(len(variants)))
    axis.set_yticklabels(variants, fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.axvline(1.0, color="black", linewidth=0.8)
    axis.set_xlim(0.005, 10)
    axis.tick_params(axis="x", labelsize=7)
