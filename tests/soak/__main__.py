"""Soak: four uvicorn workers on a private Redis with persistence, mixed traffic for a
minute, and one restart of Redis in the middle.

Checks that no handler ran more than once per key and that no answer was a 5xx other
than the documented ``503 store-unavailable``; prints its counts. Run it with ``nox -s
soak`` or ``python -m tests.soak [--seconds 60]``; it needs the ``redis-server`` binary.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.faults.server_app import RunsConfig, environment, runs
from tests.redis.servers import free_port, redis_server
from tests.support.servers import Server, running_server

DUPLICATES = 0.10
UNKEYED = 0.05
REUSED = 0.05
"""Shares of the traffic: duplicates of an earlier request, requests without a key, and
an earlier key with another body; the rest are fresh keyed requests."""
HANDLER_SECONDS = 0.01
LEASE = 10.0


@dataclass
class Tally:
    """What the clients saw, and the keys they may send again."""

    answers: Counter[str] = field(default_factory=Counter)
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60, help="length of the run")
    parser.add_argument("--workers", type=int, default=4, help="uvicorn worker processes")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    return parser.parse_args()


def classify(response: httpx.Response) -> str:
    status = response.status_code
    if status == 201:
        return "201 replay" if response.headers.get("idempotent-replayed") else "201 executed"
    if response.headers.get("content-type") == "application/problem+json":
        slug = response.json()["type"].rstrip("/").rsplit("/", 1)[-1]
        if status == 503 and "retry-after" not in response.headers:
            return f"{status} {slug} without Retry-After"
        return f"{status} {slug}"
    return f"{status} other"


async def client_loop(base_url: str, until: float, tally: Tally, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        while time.monotonic() < until:
            draw = rng.random()
            headers: dict[str, str] = {"Content-Type": "application/json"}
            if draw < DUPLICATES and tally.sent:
                key, body = rng.choice(tally.sent)
                kind = "duplicate"
            elif draw < DUPLICATES + REUSED and tally.sent:
                key, body = rng.choice(tally.sent)[0], b'{"other": true}'
                kind = "reused key"
            else:
                key, body = str(uuid.uuid4()), json.dumps({"n": rng.randrange(10**6)}).encode()
                kind = "fresh" if draw >= DUPLICATES + REUSED + UNKEYED else "unkeyed"
            if kind != "unkeyed":
                headers["Idempotency-Key"] = key
            try:
                response = await client.post("/orders", content=body, headers=headers)
            except httpx.TransportError as exc:
                tally.answers[f"{kind}: transport error {type(exc).__name__}"] += 1
                continue
            answer = classify(response)
            tally.answers[f"{kind}: {answer}"] += 1
            if kind == "fresh":
                tally.sent.append((key, body))
            if response.status_code >= 500 and answer != "503 store-unavailable":
                tally.unexpected.append(f"{kind} {key}: {response.status_code} {response.text}")


@contextlib.contextmanager
def persistent_redis(directory: Path, port: int) -> Iterator[None]:
    """A private Redis that writes every command to its append-only file before it
    answers, so a restart forgets nothing."""
    options = ("--appendonly", "yes", "--appendfsync", "always")
    with redis_server(directory, *options, port=port):
        yield


async def traffic(server: Server, seconds: float, clients: int) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    rng = random.Random(4)
    await asyncio.gather(
        *(
            client_loop(server.base_url, until, tally, random.Random(rng.random()))
            for _ in range(clients)
        )
    )
    return tally


def soak(arguments: argparse.Namespace, directory: Path) -> int:
    port = free_port()
    config: RunsConfig = {
        "store_url": f"redis://127.0.0.1:{port}/0",
        "store_options": {"prefix": "soak:", "connect_timeout": 0.5, "socket_timeout": 1.0},
        "runs_path": str(directory / "runs"),
        "delay": HANDLER_SECONDS,
        "options": {"lease": LEASE},
    }
    data = directory / "redis"
    outage = 0.0
    with contextlib.ExitStack() as redis_running:
        redis_running.enter_context(persistent_redis(data, port))
        with running_server(
            "tests.faults.server_app:counted_app",
            log_path=directory / "uvicorn.log",
            env=environment(config),
            workers=arguments.workers,
        ) as server:

            async def run() -> Tally:
                nonlocal outage
                traffic_task = asyncio.create_task(
                    traffic(server, arguments.seconds, arguments.clients)
                )
                await asyncio.sleep(arguments.seconds / 2)
                stopped = time.monotonic()
                # SIGTERM: Redis finishes its append-only file and exits, then starts
                # again from it on the same port.
                await asyncio.to_thread(redis_running.close)
                await asyncio.to_thread(redis_running.enter_context, persistent_redis(data, port))
                outage = time.monotonic() - stopped
                return await traffic_task

            tally = asyncio.run(run())
            # Completions that met the restart are retried by the renewer: let them land.
            time.sleep(2)
            log = server.log()

    ran = Counter(key for key, _ in runs(Path(config["runs_path"])) if key != "-")
    twice = {key: count for key, count in ran.items() if count > 1}
    print(f"soak: {arguments.seconds:g} s, {arguments.workers} workers, "
          f"{arguments.clients} clients, Redis down for {outage:.2f} s in the middle")  # fmt: skip
    for answer, count in sorted(tally.answers.items()):
        print(f"  {count:7d}  {answer}")
    print(f"  {sum(tally.answers.values()):7d}  requests in all")
    print(f"  {len(ran):7d}  keys whose handler ran, {len(twice)} of them more than once")
    print(f"  {sum(ran.values()):7d}  keyed handler runs")
    print(f"  {log.count('Traceback'):7d}  tracebacks in the server log")
    failures = [f"ran more than once: {key} ({count})" for key, count in twice.items()]
    failures += tally.unexpected
    if not any("503 store-unavailable" in answer for answer in tally.answers):
        print("note: no request met the Redis restart")
    for failure in failures[:20]:
        print("FAIL", failure)
    print("soak: FAILED" if failures else "soak: OK")
    return 1 if failures else 0


def main() -> int:
    arguments = parse()
    with tempfile.TemporaryDirectory(prefix="idempotency-soak-") as directory:
        return soak(arguments, Path(directory))


if __name__ == "__main__":
    sys.exit(main())
