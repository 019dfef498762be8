"""``python -m benchmarks``: every variant, every scenario, every driver, in one run.

Prints one table per driver and writes ``results.json`` and ``ratios.png`` into
``--output`` (``docs/bench`` for a full run; ``build/bench`` for ``--quick``, so a smoke
run never overwrites the published results).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.asgi_table import RoundTrips, measure_inprocess, round_trips
from benchmarks.chart import draw
from benchmarks.environment import describe
from benchmarks.report import format_table, write_json
from benchmarks.selection import select
from benchmarks.services import Services
from benchmarks.settings import FULL, POSTGRES_URL, QUICK, REDIS_URL, SCENARIOS, Mode, run_tag
from benchmarks.stats import Measurement, summarize
from benchmarks.variants import ALL_SPECS, BARE, VariantSpec

__all__ = ["main"]

DRIVERS = ("inprocess", "http", "wsgi")
TITLES = {
    "inprocess": "In-process ASGI (app called directly, no HTTP parsing)",
    "http": "Real HTTP (uvicorn, 1 worker, against a load generator on another core)",
    "wsgi": "In-process WSGI (Django and Flask apps called directly)",
}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: seconds per variant")
    parser.add_argument(
        "--drivers",
        default=",".join(DRIVERS),
        help=f"comma-separated, among {', '.join(DRIVERS)} (default: all)",
    )
    parser.add_argument(
        "--variants",
        default="",
        help="comma-separated words; keep the variants whose name holds one (bare always runs)",
    )
    parser.add_argument("--rounds", type=int, help="override the mode's number of rounds")
    parser.add_argument("--output", type=Path, help="where results.json and ratios.png go")
    return parser.parse_args(argv)


def _mode(args: argparse.Namespace) -> Mode:
    mode = QUICK if args.quick else FULL
    if args.rounds:
        mode = dataclasses.replace(mode, rounds=args.rounds, http_rounds=args.rounds)
    return mode


@dataclass(frozen=True)
class _Entries:
    """The variants of one table: their order, references, caveats and short caveats."""

    order: list[str]
    references: dict[str, str]
    caveats: dict[str, str] = field(default_factory=dict)
    lacks: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, specs: list[VariantSpec]) -> _Entries:
        return cls(
            [spec.name for spec in specs],
            {spec.name: BARE.name for spec in specs},
            {spec.name: spec.caveat for spec in specs if spec.caveat},
            {spec.name: spec.lacks for spec in specs if spec.lacks},
        )


def _table(
    driver: str,
    measurements: list[Measurement],
    entries: _Entries,
    counts: RoundTrips,
    notes: list[str],
) -> dict[str, Any]:
    rows = summarize(
        measurements, references=entries.references, round_trips=counts, caveats=entries.caveats
    )
    order = {name: index for index, name in enumerate(entries.order)}
    rows.sort(key=lambda row: order.get(row.variant, len(order)))
    notes = notes + [f"{name} does not: {caveat}" for name, caveat in entries.caveats.items()]
    return {
        "title": TITLES[driver],
        "rows": rows,
        "notes": notes,
        "references": entries.references,
        "lacks": entries.lacks,
    }


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    mode = _mode(args)
    drivers = [d.strip() for d in args.drivers.split(",") if d.strip()]
    unknown = set(drivers) - set(DRIVERS)
    if unknown:
        _log(f"unknown drivers: {', '.join(sorted(unknown))}")
        return 2
    output = args.output or Path("build/bench" if args.quick else "docs/bench")
    services = Services.create(POSTGRES_URL, REDIS_URL, run_tag())
    started = time.monotonic()
    tables: dict[str, dict[str, Any]] = {}
    try:
        specs, notes = select(ALL_SPECS, services, args.variants.split(","))
        entries = _Entries.of(specs)
        for note in notes:
            _log(note)
        counts: RoundTrips = {}
        if "inprocess" in drivers or "http" in drivers:
            _log("counting store round trips on the wire")
            counts, wire_notes = asyncio.run(round_trips(specs, services, mode, _log))
            notes += wire_notes
        if "inprocess" in drivers:
            _log(f"in-process ASGI: {len(specs)} variants, {mode.rounds} rounds")
            measured = asyncio.run(measure_inprocess(specs, services, mode, _log))
            tables["inprocess"] = _table("inprocess", measured, entries, counts, notes)
        if "http" in drivers:
            from benchmarks.http_driver import measure_http

            _log(f"real HTTP: {len(specs)} variants, {mode.http_rounds} rounds")
            measured, http_notes = measure_http(specs, services, mode, _log)
            tables["http"] = _table("http", measured, entries, counts, notes + http_notes)
        if "wsgi" in drivers:
            from benchmarks.wsgi_driver import measure_wsgi

            _log(f"in-process WSGI: {mode.rounds} rounds")
            measured, references, wsgi_notes = measure_wsgi(mode, _log)
            wsgi_entries = _Entries(list(references), references)
            memory = {
                (name, scenario.name, 1): 0.0
                for name, reference in references.items()
                if name != reference
                for scenario in SCENARIOS
            }
            tables["wsgi"] = _table("wsgi", measured, wsgi_entries, memory, wsgi_notes)
    finally:
        services.cleanup()
    for table in tables.values():
        title = f"{table['title']} - {mode.name} mode"
        print()
        print(
            format_table(
                title,
                table["rows"],
                references=table["references"],
                short=table["lacks"],
                notes=table["notes"],
            )
        )
    output.mkdir(parents=True, exist_ok=True)
    meta = describe(mode.name, mode.rounds)
    meta["seconds"] = round(time.monotonic() - started)
    write_json(output / "results.json", meta, tables)
    draw(output / "ratios.png", tables, mode=mode.name)
    print(f"\nwrote {output / 'results.json'} and {output / 'ratios.png'}")
    return 0
