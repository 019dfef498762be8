"""``python -m benchmarks.memory_bound``: the process's memory over a million distinct keys.

Sends fresh keyed POSTs through the ASGI middleware on a bounded ``MemoryStore``, in
process, and prints the resident set size at checkpoints. With the bound in place the
store holds at most ``max_records`` records, so the RSS levels off once the store is
full instead of growing with the keys; ``--unbounded`` shows the same run with a bound
above the number of keys, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
from pathlib import Path

from benchmarks.asgi_requests import Recorder, prepare
from benchmarks.settings import SCENARIOS
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Receive, Scope, Send
from idempotency_middleware.stores import MemoryStore

__all__ = ["main"]

_BATCH = 10_000
_BODY = b'{"id": 1, "item": "annual plan", "amount": 19900}'


async def _created(scope: Scope, receive: Receive, send: Send) -> None:
    """A handler answering 201 with a small JSON body, as an orders API would."""
    await receive()
    await send(
        {
            "type": "http.response.start",
            "status": 201,
            "headers": [(b"content-type", b"application/json"), (b"location", b"/orders/1")],
        }
    )
    await send({"type": "http.response.body", "body": _BODY})


def _rss_mib() -> float:
    """The resident set size now (Linux), else the peak."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        pages = int(statm.read_text().split()[1])
        return pages * resource.getpagesize() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


async def _run(keys: int, max_records: int, checkpoints: int) -> None:
    store = MemoryStore(max_records=max_records)
    app = IdempotencyMiddleware(_created, store=store)
    fresh = next(s for s in SCENARIOS if s.name == "fresh")
    recorder = Recorder()
    every = max(keys // checkpoints, _BATCH)
    print(f"MemoryStore(max_records={max_records:,}), {keys:,} distinct keys, in process")
    print(f"{'keys sent':>12}  {'records held':>12}  {'RSS MiB':>8}")
    sent = 0
    while sent < keys:
        for scope, receive in prepare(fresh, min(_BATCH, keys - sent)):
            await app(scope, receive, recorder.send)
        sent += min(_BATCH, keys - sent)
        if sent % every == 0 or sent == keys:
            gc.collect()
            print(f"{sent:>12,}  {len(store):>12,}  {_rss_mib():>8.1f}", flush=True)
    if set(recorder.statuses) != {201}:
        raise SystemExit(f"unexpected statuses: {dict(recorder.statuses)}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory_bound")
    parser.add_argument("--keys", type=int, default=1_000_000, help="distinct keys to send")
    parser.add_argument("--max-records", type=int, default=100_000, help="the store's bound")
    parser.add_argument("--checkpoints", type=int, default=10, help="RSS readings to print")
    parser.add_argument(
        "--unbounded", action="store_true", help="set the bound above --keys, for comparison"
    )
    args = parser.parse_args(argv)
    bound = args.keys + 1 if args.unbounded else args.max_records
    asyncio.run(_run(args.keys, bound, args.checkpoints))
    return 0


if __name__ == "__main__":
    sys.exit(main())
