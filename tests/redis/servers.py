"""Redis for the tests: the shared server, stores on key prefixes of their own, and
private servers and clusters started from the ``redis-server`` binary.

The shared server is required, like the SQL servers: a test that cannot reach it fails.
Its URL can be moved with the ``IDEMPOTENCY_TEST_REDIS_URL`` environment variable. Tests
never flush it; each store works under a key prefix of its own.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from idempotency_middleware.stores.redis import RedisStore

__all__ = [
    "REDIS_URL",
    "RedisServer",
    "free_port",
    "redis_cluster",
    "redis_sentinel",
    "redis_server",
    "redis_store",
    "unique_prefix",
]

REDIS_URL = os.environ.get("IDEMPOTENCY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The shared Redis server."""

_START_TIMEOUT = 20.0


def unique_prefix() -> str:
    """A key prefix no other test, run or parallel worker uses."""
    return f"idem-test:{os.getpid()}:{secrets.token_hex(6)}:"


@contextmanager
def redis_store(
    url_or_client: Any = REDIS_URL, *, home: str = REDIS_URL, **options: Any
) -> Iterator[RedisStore]:
    """A store on a fresh key prefix, whose keys are deleted afterwards from ``home``, the
    server that holds them (reached directly: the store may sit behind a broken proxy).
    The caller closes the async face on its own loop."""
    prefix = options.pop("prefix", None) or unique_prefix()
    store = RedisStore(url_or_client, prefix=prefix, **options)
    try:
        yield store
    finally:
        store.close()
        cleaner = RedisStore(home, prefix=prefix)
        try:
            cleaner.clear()
        finally:
            cleaner.close()


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class RedisServer:
    """A private ``redis-server`` process listening on ``127.0.0.1:port``."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes]

    def client(self, **options: Any) -> redis.Redis:
        """A plain client of this server; the caller closes it."""
        return redis.Redis(host="127.0.0.1", port=self.port, **options)


@contextmanager
def redis_server(directory: Path, *options: str, port: int | None = None) -> Iterator[RedisServer]:
    """Run ``redis-server`` with ``options`` in ``directory``, without persistence, and
    stop it afterwards. ``port`` is where it is reached (give ``--port 0`` among the
    options for a TLS-only server listening on its ``--tls-port``)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(directory), "--logfile", "redis.log", *options,
    ]  # fmt: skip
    with _running(command, port, directory / "redis.log") as process:
        yield RedisServer(port, directory, process)


@contextmanager
def redis_sentinel(
    directory: Path, master: RedisServer, service: str, *settings: str
) -> Iterator[int]:
    """Run ``redis-server --sentinel`` watching ``master`` as ``service``, with further
    configuration lines ``settings``, and yield its port once it knows the master.
    Sentinel rewrites its configuration file, so each gets one of its own in
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {directory}\nlogfile sentinel.log\n"
        f"sentinel monitor {service} 127.0.0.1 {master.port} 1\n"
        + "".join(f"{line}\n" for line in settings)
    )
    command = ["redis-server", str(config), "--sentinel"]
    with _running(command, port, directory / "sentinel.log"):
        client = redis.Redis(host="127.0.0.1", port=port)
        try:
            deadline = time.monotonic() + _START_TIMEOUT
            while not client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", service):  # type: ignore[no-untyped-call]
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the sentinel on {port} did not find {service}")
                time.sleep(0.05)
        finally:
            client.close()
        yield port


@contextmanager
def _running(command: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def redis_cluster(directory: Path, nodes: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``nodes`` primaries on loopback ports, stopped afterwards.

    Yields its ``redis+cluster://`` URL naming every node.
    """
    with ExitStack() as stack:
        servers = []
        for number in range(nodes):
            options = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            options += ["--cluster-port", str(free_port())]
            node = redis_server(directory / f"node-{number}", *options)
            servers.append(stack.enter_context(node))
        addresses = [f"127.0.0.1:{server.port}" for server in servers]
        create = ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0"]
        subprocess.run([*create, "--cluster-yes"], check=True, capture_output=True, timeout=60)
        for server in servers:
            _wait_for_cluster(server)
        yield "redis+cluster://" + ",".join(addresses)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"redis-server exited with {process.returncode}:\n{text}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise RuntimeError(f"redis-server did not listen on port {port}")


def _wait_for_cluster(server: RedisServer) -> None:
    # Every node must know the whole slot map before clients may ask any of them.
    client = server.client(decode_responses=True)
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while _cluster_state(client) != "ok":
            if time.monotonic() > deadline:
                raise RuntimeError(f"the cluster node on {server.port} did not become ready")
            time.sleep(0.05)
    finally:
        client.close()


def _cluster_state(client: redis.Redis) -> str:
    info: dict[str, str] = client.execute_command("CLUSTER INFO")  # type: ignore[no-untyped-call]
    return info["cluster_state"]
