"""Where our middleware spends its time: ``python -m benchmarks.profiling``.

Runs ours on the memory store in-process, sequentially, on the ``fresh`` and ``replay``
scenarios, first under pyinstrument (the call tree, by wall time) then under cProfile
(own time per function of ``idempotency_middleware``, the list to optimise from). The
bare app's own time is the floor: every microsecond above it is the middleware's.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys

from benchmarks.asgi_requests import Recorder, prepare, replay_key
from benchmarks.inprocess import run_requests
from benchmarks.services import Services
from benchmarks.settings import POSTGRES_URL, REDIS_URL, SCENARIOS, run_tag
from benchmarks.variants import ALL_SPECS, Variant

__all__ = ["main"]

_PACKAGE = "idempotency_middleware"


async def _build(name: str) -> Variant:
    spec = next(spec for spec in ALL_SPECS if spec.name == name)
    services = Services.create(POSTGRES_URL, REDIS_URL, run_tag())
    return await spec.build(services)


async def _exercise(variant: Variant, scenario_name: str, count: int) -> None:
    scenario = next(s for s in SCENARIOS if s.name == scenario_name)
    await variant.reset()
    key = replay_key() if scenario.name == "replay" else None
    await run_requests(variant, prepare(scenario, 50, key), 1, Recorder())  # warm
    requests = prepare(scenario, count, key)
    await run_requests(variant, requests, 1, Recorder())


def _pyinstrument(variant: Variant, scenario: str, count: int) -> str:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0002, async_mode="disabled")
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_exercise(variant, scenario, 50))
        profiler.start()
        loop.run_until_complete(_exercise(variant, scenario, count))
        profiler.stop()
    finally:
        loop.close()
    return profiler.output_text(unicode=False, color=False, show_all=False)


def _own_time(variant: Variant, scenario: str, count: int, top: int) -> str:
    profile = cProfile.Profile()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_exercise(variant, scenario, 50))
        profile.enable()
        loop.run_until_complete(_exercise(variant, scenario, count))
        profile.disable()
    finally:
        loop.close()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    rows = []
    for (path, line, function), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if _PACKAGE in path:
            module = path[path.rindex(_PACKAGE) :].removesuffix(".py").replace("/", ".")
            rows.append((own, cumulative, calls, f"{module}:{line} {function}"))
    rows.sort(reverse=True)
    total = sum(own for own, *_ in rows)
    lines = [
        f"own time in {_PACKAGE}: {total / count * 1e6:.1f} us per request "
        f"(under cProfile, which inflates small functions)",
        f"{'own us/req':>10}  {'cum us/req':>10}  {'calls/req':>9}  function",
    ]
    for own, cumulative, calls, name in rows[:top]:
        lines.append(
            f"{own / count * 1e6:>10.2f}  {cumulative / count * 1e6:>10.2f}  "
            f"{calls / count:>9.1f}  {name}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiling", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--variant", default="ours/memory")
    parser.add_argument("--scenarios", default="fresh,replay")
    parser.add_argument("--no-tree", action="store_true", help="skip the pyinstrument tree")
    args = parser.parse_args(argv)
    variant = asyncio.run(_build(args.variant))
    for scenario in args.scenarios.split(","):
        print(f"\n##### {args.variant}, {scenario}, {args.requests} sequential requests")
        if not args.no_tree:
            print(_pyinstrument(variant, scenario, args.requests))
        print(_own_time(variant, scenario, args.requests, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
