"""The load generators of the HTTP driver: ``wrk`` when installed, else :mod:`.loadgen`.

Both send one scenario's requests over ``concurrency`` keep-alive connections for a
fixed time, pinned to their own core, and report the requests done, the time, errors
and the p50 and p99 latencies as one JSON line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks.app import ORDER_BODY
from benchmarks.settings import Scenario

__all__ = ["LoadResult", "generate_load", "load_generator"]

_SCRIPT = r"""
local method, path, mode, key, prefix
local counter = 0
local body = nil
local fixed = nil

function init(args)
  method, path, mode, key, prefix = args[1], args[2], args[3], args[4], args[5]
  if method == "POST" then body = args[6] end
  if mode ~= "fresh" then fixed = wrk.format(method, path, headers(), body) end
end

function headers()
  local h = {["Accept"] = "*/*"}
  if method == "POST" then h["Content-Type"] = "application/json" end
  if mode == "replay" then h["Idempotency-Key"] = key end
  return h
end

function request()
  if fixed ~= nil then return fixed end
  counter = counter + 1
  local h = headers()
  h["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format(method, path, h, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    status_errors: int
    socket_errors: int
    p50_us: float
    p99_us: float


def load_generator() -> str:
    """``wrk`` if it is on the PATH, else ``python`` (the fallback of :mod:`.loadgen`)."""
    return "wrk" if shutil.which("wrk") else "python"


def _pinned(core: int | None) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(core)]


def generate_load(
    port: int,
    scenario: Scenario,
    concurrency: int,
    seconds: int,
    *,
    key: str,
    core: int | None,
) -> LoadResult:
    """Run the load generator once against ``127.0.0.1:port``. ``key`` is the completed
    key of a replay, or the prefix of the fresh keys."""
    url = f"http://127.0.0.1:{port}"
    mode = "fresh" if scenario.new_key_each_time else ("replay" if scenario.keyed else "none")
    if load_generator() == "wrk":
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_SCRIPT)
        try:
            command = [
                *_pinned(core),
                "wrk",
                "-t1",
                f"-c{concurrency}",
                f"-d{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script.name,
                url,
                "--",
                scenario.method,
                scenario.path,
                mode,
                key,
                key,
                ORDER_BODY.decode(),
            ]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        finally:
            Path(script.name).unlink()
    else:
        command = [
            *_pinned(core),
            sys.executable,
            "-m",
            "benchmarks.loadgen",
            url,
            scenario.method,
            scenario.path,
            mode,
            key,
            str(concurrency),
            str(seconds),
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("{"))
    return LoadResult(**json.loads(line))
