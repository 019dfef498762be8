"""The fallback load generator when ``wrk`` is missing: ``python -m benchmarks.loadgen``.

``concurrency`` keep-alive connections send requests one after the other for
``seconds``; it prints what :mod:`benchmarks.wrk` reads. Being Python, it saturates
sooner than wrk: its numbers are an upper bound on the server's cost per request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from benchmarks.app import ORDER_BODY
from benchmarks.stats import percentile

__all__ = ["main"]


def _request(method: str, path: str, key: str | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: */*"]
    body = b""
    if method == "POST":
        body = ORDER_BODY
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if key is not None:
        lines.append(f"Idempotency-Key: {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _run(
    host: str,
    port: int,
    method: str,
    path: str,
    mode: str,
    key: str,
    concurrency: int,
    seconds: float,
) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    counter = [0]
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        fixed = (
            None if mode == "fresh" else _request(method, path, key if mode == "replay" else None)
        )
        while time.perf_counter() < deadline:
            if fixed is None:
                counter[0] += 1
                payload = _request(method, path, f"{key}-{counter[0]}")
            else:
                payload = fixed
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            latencies.append((time.perf_counter() - started) * 1e6)
            if status >= 400:
                errors[0] += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "status_errors": errors[0],
        "socket_errors": 0,
        "p50_us": percentile(latencies, 0.50),
        "p99_us": percentile(latencies, 0.99),
    }


def main(argv: list[str] | None = None) -> int:
    url, method, path, mode, key, concurrency, seconds = (argv or sys.argv[1:])[:7]
    host, port = url.removeprefix("http://").split(":")
    result = asyncio.run(
        _run(host, int(port), method, path, mode, key, int(concurrency), float(seconds))
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
