"""The in-process driver: each variant's ASGI app called directly, no HTTP, one event loop.

For each variant, scenario and concurrency, a calibration picks a request count that
lasts about ``Mode.cell_seconds``; then every round measures every cell once, the
variants in a rotated order. Each measurement starts from an empty store, and checks
that every request was answered as expected and that replays did not run the handler.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.asgi_requests import PreparedRequest, Recorder, prepare, replay_key
from benchmarks.settings import CONCURRENCY, SCENARIOS, Mode, Scenario
from benchmarks.stats import Measurement
from benchmarks.variants import Variant, VariantSpec

__all__ = ["BenchmarkError", "Built", "measure_rounds", "run_requests"]

_MIN_REQUESTS = 16
_MAX_REQUESTS = 50_000


class BenchmarkError(Exception):
    """A variant answered something else than the scenario expects: it is misconfigured,
    and its numbers would mean nothing."""


@dataclass
class Built:
    """A variant built for this run, with its calibrated request counts."""

    spec: VariantSpec
    variant: Variant
    counts: dict[tuple[str, int], int]


async def run_requests(
    variant: Variant, requests: Sequence[PreparedRequest], concurrency: int, send: Recorder
) -> tuple[float, list[float]]:
    """Call the app on every request, ``concurrency`` at a time: the wall time in
    seconds and each request's latency in microseconds."""
    app, clock = variant.app, time.perf_counter_ns
    latencies = [0] * len(requests)

    async def worker(stream: enumerate[PreparedRequest]) -> None:
        for index, (scope, receive) in stream:
            started = clock()
            await app(scope, receive, send.send)
            latencies[index] = clock() - started

    shared = enumerate(requests)
    started = clock()
    if concurrency == 1:
        await worker(shared)
    else:
        await asyncio.gather(*(worker(shared) for _ in range(concurrency)))
    wall = clock() - started
    return wall / 1e9, [value / 1e3 for value in latencies]


async def _measure(
    built: Built, scenario: Scenario, concurrency: int, count: int, round_: int
) -> Measurement:
    variant, spec = built.variant, built.spec
    await variant.reset()
    key = None
    if scenario.keyed and not scenario.new_key_each_time:
        key = replay_key()
        await run_requests(variant, prepare(scenario, 1, key), 1, Recorder())
    requests = prepare(scenario, count, key)
    recorder = Recorder()
    placed, read = variant.calls.placed, variant.calls.read
    gc.collect()
    seconds, latencies = await run_requests(variant, requests, concurrency, recorder)
    expected_status = 201 if scenario.method == "POST" else 200
    if recorder.statuses != {expected_status: count}:
        raise BenchmarkError(
            f"{spec.name} on {scenario.name}: expected {count} x {expected_status}, "
            f"got {dict(recorder.statuses)}"
        )
    ran = variant.calls.placed - placed + variant.calls.read - read
    expected_runs = 0 if (key is not None and spec.protects) else count
    if ran != expected_runs:
        raise BenchmarkError(
            f"{spec.name} on {scenario.name}: the handler ran {ran} times, expected {expected_runs}"
        )
    return Measurement(
        spec.name, scenario.name, concurrency, round_, count, seconds, latencies_us=latencies
    )


async def _calibrate(built: Built, mode: Mode) -> None:
    for scenario in SCENARIOS:
        for concurrency in CONCURRENCY:
            count = 8
            while True:
                seconds = (await _measure(built, scenario, concurrency, count, -1)).seconds
                if seconds >= mode.warmup_seconds or count >= _MAX_REQUESTS:
                    break
                count *= 2
            wanted = round(count / seconds * mode.cell_seconds)
            built.counts[scenario.name, concurrency] = max(
                _MIN_REQUESTS, min(_MAX_REQUESTS, wanted)
            )


async def measure_rounds(
    builds: list[Built], mode: Mode, log: Callable[[str], None]
) -> list[Measurement]:
    """Calibrate every variant, then measure every cell once per round."""
    for built in builds:
        started = time.monotonic()
        await _calibrate(built, mode)
        log(f"  calibrated {built.spec.name} in {time.monotonic() - started:.1f} s")
    measurements = []
    groups = [(s, c) for s in SCENARIOS for c in CONCURRENCY]
    for round_ in range(mode.rounds):
        started = time.monotonic()
        for index, (scenario, concurrency) in enumerate(groups):
            shift = (round_ + index) % len(builds)
            for built in builds[shift:] + builds[:shift]:
                count = built.counts[scenario.name, concurrency]
                measurements.append(await _measure(built, scenario, concurrency, count, round_))
        log(f"  round {round_ + 1}/{mode.rounds} in {time.monotonic() - started:.1f} s")
    return measurements
