"""The printed tables and the JSON file of a run."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.stats import Row

__all__ = ["format_table", "write_json"]

_HEADER = (
    "scenario",
    "in flight",
    "variant",
    "req/s",
    "x bare",
    "us added",
    "p50 us",
    "p99 us",
    "store RTs",
    "does not (see notes)",
)
_RIGHT = {3, 4, 5, 6, 7, 8}


def _number(value: float | None, digits: int = 0, signed: bool = False) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def _cells(row: Row, references: Mapping[str, str], short: Mapping[str, str]) -> tuple[str, ...]:
    is_bare = row.variant == references[row.variant]
    return (
        row.scenario,
        str(row.concurrency),
        row.variant,
        _number(row.requests_per_second),
        f"{row.ratio:.2f}",
        "-" if is_bare else _number(row.added_us, 1, signed=True),
        _number(row.p50_us),
        _number(row.p99_us),
        _number(row.round_trips, 1),
        short.get(row.variant, ""),
    )


def format_table(
    title: str,
    rows: Sequence[Row],
    *,
    references: Mapping[str, str],
    short: Mapping[str, str],
    notes: Iterable[str],
) -> str:
    """One driver's table, grouped by scenario and concurrency, then its notes."""
    lines = [[*_HEADER]]
    previous: tuple[str, int] | None = None
    breaks = set()
    for row in sorted(rows, key=lambda r: (_order(r.scenario), r.concurrency)):
        if previous is not None and previous != (row.scenario, row.concurrency):
            breaks.add(len(lines))
        previous = (row.scenario, row.concurrency)
        lines.append(list(_cells(row, references, short)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
    out = [title, "=" * len(title)]
    for number, line in enumerate(lines):
        if number in breaks or number == 1:
            out.append("  ".join("-" * w for w in widths))
        out.append(
            "  ".join(
                cell.rjust(widths[i]) if i in _RIGHT else cell.ljust(widths[i])
                for i, cell in enumerate(line)
            ).rstrip()
        )
    out.extend(f"  - {note}" for note in notes)
    return "\n".join(out)


def _order(scenario: str) -> int:
    return {"fresh": 0, "replay": 1, "nokey": 2}.get(scenario, 3)


def write_json(path: Path, meta: dict[str, Any], tables: dict[str, Any]) -> None:
    """``{"meta": ..., "drivers": {name: {"rows": [...], "notes": [...]}}}``."""
    document = {
        "meta": meta,
        "drivers": {
            name: {
                "title": table["title"],
                "references": table["references"],
                "notes": table["notes"],
                "rows": [_clean(dataclasses.asdict(row)) for row in table["rows"]],
            }
            for name, table in tables.items()
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (None if isinstance(value, float) and math.isnan(value) else value)
        for key, value in row.items()
    }
