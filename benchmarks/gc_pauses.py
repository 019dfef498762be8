"""``python -m benchmarks.gc_pauses``: the cyclic GC's pauses under fresh requests.

Sends fresh keyed POSTs through the ASGI middleware on a ``MemoryStore``, in process,
times every garbage collection with ``gc.callbacks`` and every request, and prints the
pauses per generation and the request latencies. Once the store holds its bound of
records, a full (generation 2) collection walks every object the GC tracks, so what the
store keeps per record sets the longest pauses.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time

from benchmarks.asgi_requests import Recorder, prepare
from benchmarks.memory_bound import _created
from benchmarks.settings import SCENARIOS
from benchmarks.stats import percentile
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.stores import MemoryStore

__all__ = ["main"]

_BATCH = 100


class _Pauses:
    """The duration of each collection, per generation, from ``gc.callbacks``, and the
    most objects one collection of each generation had to walk (counted before the
    clock starts)."""

    def __init__(self) -> None:
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self.walked = {0: 0, 1: 0, 2: 0}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        generation = info["generation"]
        if phase == "start":
            walked = sum(len(gc.get_objects(younger)) for younger in range(generation + 1))
            self.walked[generation] = max(self.walked[generation], walked)
            self._started = time.perf_counter()
        else:
            elapsed = (time.perf_counter() - self._started) * 1e3
            self.by_generation[generation].append(elapsed)


async def _run(requests: int, max_records: int) -> None:
    store = MemoryStore(max_records=max_records)
    app = IdempotencyMiddleware(_created, store=store)
    fresh = next(s for s in SCENARIOS if s.name == "fresh")
    recorder = Recorder()
    latencies: list[float] = []
    pauses = _Pauses()
    gc.callbacks.append(pauses)
    try:
        sent = 0
        while sent < requests:
            batch = prepare(fresh, min(_BATCH, requests - sent))
            for scope, receive in batch:
                started = time.perf_counter()
                await app(scope, receive, recorder.send)
                latencies.append((time.perf_counter() - started) * 1e3)
            sent += len(batch)
    finally:
        gc.callbacks.remove(pauses)
    if set(recorder.statuses) != {201}:
        raise SystemExit(f"unexpected statuses: {dict(recorder.statuses)}")
    print(f"MemoryStore(max_records={max_records:,}), {requests:,} fresh requests, in process")
    print(f"{len(store):,} records held, {len(gc.get_objects()):,} objects tracked by the GC")
    print(
        f"{'':>12}  {'count':>6}  {'p50 ms':>8}  {'p99 ms':>8}  {'max ms':>8}  "
        f"{'total ms':>9}  {'most objects walked':>19}"
    )
    for generation, values in pauses.by_generation.items():
        if values:
            print(
                f"{'gen ' + str(generation) + ' GC':>12}  {len(values):>6,}  "
                f"{percentile(values, 0.5):>8.3f}  {percentile(values, 0.99):>8.3f}  "
                f"{max(values):>8.2f}  {sum(values):>9.0f}  {pauses.walked[generation]:>19,}"
            )
    print(
        f"{'requests':>12}  {len(latencies):>6,}  {percentile(latencies, 0.5):>8.3f}  "
        f"{percentile(latencies, 0.99):>8.3f}  {max(latencies):>8.2f}  "
        f"p99.9 {percentile(latencies, 0.999):.3f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gc_pauses")
    parser.add_argument("--requests", type=int, default=200_000, help="fresh requests to send")
    parser.add_argument("--max-records", type=int, default=100_000, help="the store's bound")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.requests, args.max_records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
