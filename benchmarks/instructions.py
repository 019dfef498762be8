"""Instructions per request, counted by callgrind: ``python -m benchmarks.instructions``.

Rates on a shared machine drift with its load; the number of instructions a request
executes does not, so this is the measure to compare two versions of the middleware by.
Each variant and scenario runs in a child process under ``valgrind --tool=callgrind``
(``apt-get install valgrind``): the child warms up, then calls ``os.getppid()`` just
before and just after the measured requests, sequentially, and callgrind dumps its
counters at each of those calls (``--dump-before=getppid``), so one dump holds the
requests alone. An instruction is not a unit of time (a cache miss, a system call or a
round trip costs more than its count), but fewer instructions is a cheaper request
under any load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.asgi_requests import Recorder, prepare, replay_key
from benchmarks.inprocess import run_requests
from benchmarks.services import Services
from benchmarks.settings import POSTGRES_URL, REDIS_URL, SCENARIOS, run_tag
from benchmarks.variants import ALL_SPECS

__all__ = ["main"]

_TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)
_WARM_UP = 200


async def _child(name: str, scenario_name: str, count: int) -> None:
    spec = next(spec for spec in ALL_SPECS if spec.name == name)
    scenario = next(s for s in SCENARIOS if s.name == scenario_name)
    services = Services.create(POSTGRES_URL, REDIS_URL, run_tag())
    variant = await spec.build(services)
    try:
        await variant.reset()
        key = replay_key() if scenario.name == "replay" else None
        await run_requests(variant, prepare(scenario, _WARM_UP, key), 1, Recorder())
        requests = prepare(scenario, count, key)
        os.getppid()  # the marker callgrind dumps before: the measured part starts
        await run_requests(variant, requests, 1, Recorder())
        os.getppid()  # and ends
        await variant.reset()
    finally:
        await variant.close()
        services.cleanup()


def _count(valgrind: str, name: str, scenario: str, requests: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        command = [
            valgrind,
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={folder}/cg.%p",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--child",
            name,
            scenario,
            str(requests),
        ]
        subprocess.run(command, check=True, capture_output=True)
        parts = sorted(Path(folder).iterdir(), key=lambda path: int(path.suffix[1:] or 0))
        # The last dump is the exit; the one before it, the measured requests.
        match = _TOTALS.search(parts[-2].read_bytes())
        if match is None:
            raise RuntimeError(f"no instruction total in {parts[-2]}")
        return int(match.group(1)) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    parser.add_argument("--variants", default="ours/memory,ours/redis")
    parser.add_argument("--scenarios", default="fresh,replay,nokey")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "SCENARIO", "COUNT"))
    args = parser.parse_args(argv)
    if args.child is not None:
        name, scenario, count = args.child
        asyncio.run(_child(name, scenario, int(count)))
        return 0
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 1
    print(f"{'scenario':<8}  {'variant':<16}  {'instr/request':>13}  {'x bare':>6}  {'added':>9}")
    for scenario in args.scenarios.split(","):
        bare = _count(valgrind, "bare", scenario, args.requests)
        print(f"{scenario:<8}  {'bare':<16}  {bare:>13,.0f}  {1:>6.2f}  {'-':>9}")
        for name in args.variants.split(","):
            cost = _count(valgrind, name, scenario, args.requests)
            print(
                f"{scenario:<8}  {name:<16}  {cost:>13,.0f}  {bare / cost:>6.2f}  "
                f"{cost - bare:>+9,.0f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
