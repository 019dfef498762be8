"""The real-HTTP driver: every variant under uvicorn (one worker) at once, driven in turn.

Every server is pinned to core 0 and the load generator to core 1 (``taskset``), so they
do not compete for one core; idle servers cost nothing while another is measured. Each
round measures every cell once, the variants in a rotated order, each from an empty
store (``POST /__bench/reset``) and, for replays, after one request completed the key.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.app import ORDER_BODY
from benchmarks.http_server import RESET_PATH
from benchmarks.inprocess import BenchmarkError
from benchmarks.services import Services
from benchmarks.settings import CONCURRENCY, SCENARIOS, Mode, Scenario
from benchmarks.stats import Measurement
from benchmarks.variants import VariantSpec
from benchmarks.wrk import generate_load, load_generator

__all__ = ["measure_http"]

ROOT = Path(__file__).resolve().parents[1]
_SERVER_CORE, _CLIENT_CORE = (0, 1) if (os.cpu_count() or 1) >= 2 else (None, None)
_WARMUP_REQUESTS = 30


@dataclass
class _Server:
    spec: VariantSpec
    process: subprocess.Popen[str]
    port: int


def _call(port: int, method: str, path: str, key: str | None = None) -> int:
    headers = {"Content-Type": "application/json"} if method == "POST" else {}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = ORDER_BODY if method == "POST" else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, headers=headers, method=method
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        status: int = response.status
        return status


def _start(spec: VariantSpec, services: Services) -> _Server:
    pin = ["taskset", "-c", str(_SERVER_CORE)] if _SERVER_CORE is not None else []
    process = subprocess.Popen(
        [
            *pin,
            sys.executable,
            "-m",
            "benchmarks.http_server",
            spec.name,
            "--postgres-url",
            services.postgres_url,
            "--redis-url",
            services.redis_url,
            "--tag",
            services.tag,
            "--sqlite-dir",
            str(services.sqlite_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    deadline = time.monotonic() + 60
    while True:
        try:
            _call(port, "GET", "/orders/1")
            return _Server(spec, process, port)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(f"the server of {spec.name} did not start") from None
            time.sleep(0.1)


def _stop(server: _Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextlib.contextmanager
def _servers(specs: Sequence[VariantSpec], services: Services) -> Iterator[list[_Server]]:
    started: list[_Server] = []
    try:
        for spec in specs:
            started.append(_start(spec, services))
        yield started
    finally:
        for server in started:
            _stop(server)


def _prime(server: _Server, scenario: Scenario, key: str) -> None:
    _call(server.port, "POST", RESET_PATH)
    if scenario.keyed and not scenario.new_key_each_time:
        _call(server.port, scenario.method, scenario.path, key)


def _warm_up(server: _Server) -> None:
    for scenario in SCENARIOS:
        key = str(uuid.uuid4())
        _prime(server, scenario, key)
        for index in range(_WARMUP_REQUESTS):
            fresh = f"{key}-{index}" if scenario.new_key_each_time else key
            _call(server.port, scenario.method, scenario.path, fresh if scenario.keyed else None)


def measure_http(
    specs: Sequence[VariantSpec], services: Services, mode: Mode, log: Callable[[str], None]
) -> tuple[list[Measurement], list[str]]:
    """Every cell once per round, through real sockets."""
    generator = load_generator()
    fallback = "the Python fallback, which saturates before the server: read ratios only"
    notes = [f"load generator: {'wrk' if generator == 'wrk' else fallback}"]
    if _SERVER_CORE is None or shutil.which("taskset") is None:
        notes.append("server and load generator are not pinned to separate cores")
    measurements = []
    with _servers(specs, services) as servers:
        for server in servers:
            _warm_up(server)
        log(f"  {len(servers)} servers up and warmed")
        groups = [(s, c) for s in SCENARIOS for c in CONCURRENCY]
        for round_ in range(mode.http_rounds):
            started = time.monotonic()
            for index, (scenario, concurrency) in enumerate(groups):
                shift = (round_ + index) % len(servers)
                for server in servers[shift:] + servers[:shift]:
                    key = str(uuid.uuid4())
                    _prime(server, scenario, key)
                    result = generate_load(
                        server.port,
                        scenario,
                        concurrency,
                        mode.http_seconds,
                        key=key,
                        core=_CLIENT_CORE,
                    )
                    if result.status_errors or result.socket_errors or not result.requests:
                        raise BenchmarkError(f"{server.spec.name} on {scenario.name}: {result}")
                    measurements.append(
                        Measurement(
                            server.spec.name,
                            scenario.name,
                            concurrency,
                            round_,
                            result.requests,
                            result.seconds,
                            p50_us=result.p50_us,
                            p99_us=result.p99_us,
                        )
                    )
            log(f"  round {round_ + 1}/{mode.http_rounds} in {time.monotonic() - started:.1f} s")
    return measurements, notes
