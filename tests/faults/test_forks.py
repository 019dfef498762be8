"""No connection, pool, client or thread of a store survives a fork (SEMANTICS section 5):
workers forked after the store was built and used (``gunicorn --preload``) open their
own, so no two workers share a session and no caller gets another's response."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from idempotency_middleware.renewal import SyncRenewer
from idempotency_middleware.stores.memory import MemoryStore
from tests.faults.preload_app import PreloadConfig, environment
from tests.faults.stores import store_url
from tests.redis.servers import redis_store, unique_prefix
from tests.support.databases import drop_table, unique_table_name
from tests.support.servers import running_gunicorn

CALLERS = 200
KEY = "f" * 64
KINDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("redis"),
    pytest.param("sqlite"),
]


@contextlib.contextmanager
def preload_config(kind: str, directory: Path) -> Iterator[PreloadConfig]:
    """A store of ``kind`` on a table or key prefix of its own, dropped afterwards."""
    url = store_url(kind, directory)
    if kind == "redis":
        yield {"store_url": url, "store_options": {"prefix": unique_prefix()}}
        return
    table_name = unique_table_name()
    try:
        yield {"store_url": url, "store_options": {"table_name": table_name}}
    finally:
        drop_table(url, table_name)


def request_then_retry(client: httpx.Client, caller: int) -> list[object]:
    """What caller number ``caller`` got for its request and for its retry: the status
    and whom the body names, or the error."""
    key = str(uuid.uuid4())
    headers = {"Authorization": f"Bearer caller-{caller}", "Idempotency-Key": key}
    answers: list[object] = []
    for _ in range(2):
        try:
            response = client.post("/orders", content=b"{}", headers=headers)
        except httpx.TransportError as exc:
            answers.append(repr(exc))
            continue
        body = response.json()
        answers.append((response.status_code, body.get("caller"), body.get("key") == key))
    return answers


@pytest.mark.server
@pytest.mark.parametrize(
    "worker_class", ["sync", pytest.param("uvicorn.workers.UvicornWorker", id="uvicorn")]
)
@pytest.mark.parametrize("kind", KINDS)
def test_every_caller_gets_its_own_response_under_gunicorn_preload(
    kind: str, worker_class: str, tmp_path: Path
) -> None:
    factory = "wsgi()" if worker_class == "sync" else "asgi()"
    with (
        preload_config(kind, tmp_path) as config,
        running_gunicorn(
            f"tests.faults.preload_app:{factory}",
            log_path=tmp_path / "gunicorn.log",
            env=environment(config),
            worker_class=worker_class,
            options=["--preload"],
        ) as server,
        httpx.Client(base_url=server.base_url, timeout=60) as client,
        ThreadPoolExecutor(16) as pool,
    ):
        answers = list(pool.map(lambda caller: request_then_retry(client, caller), range(CALLERS)))

    wrong = [
        (caller, got)
        for caller, got in enumerate(answers)
        if got != [(201, f"Bearer caller-{caller}", True)] * 2
    ]
    assert wrong == []


def exit_code_of_child(child: Callable[[], bool], held: threading.Lock) -> int | None:
    """Fork while another thread holds ``held``, run ``child`` in the child, and answer
    its exit code (0: it answered True), or None if it is still stuck after a while."""
    locked, forked = threading.Event(), threading.Event()

    def hold() -> None:
        with held:
            locked.set()
            forked.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    with warnings.catch_warnings():
        # Python 3.12+ warns of exactly what this test is about.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        try:
            os._exit(0 if child() else 1)
        finally:
            os._exit(2)
    forked.set()
    holder.join()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def test_renewer_forked_while_its_lock_was_held_renews_in_the_child() -> None:
    renewer = SyncRenewer()
    store = MemoryStore()

    def renews() -> bool:
        # Claimed in the child, so a slow fork on a loaded machine cannot let the lease
        # run out before the renewer's first turn.
        store.claim(KEY, "owner", "fingerprint", 1.0)
        first = store.get(KEY)
        renewer.hold(store, KEY, "owner", 1.0)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            now = store.get(KEY)
            if first is not None and now is not None and now.expires_at > first.expires_at:
                return True
            time.sleep(0.01)
        return False

    assert exit_code_of_child(renews, renewer._lock) == 0


def test_redis_store_forked_while_its_lock_was_held_serves_the_child() -> None:
    with redis_store() as store:
        assert store.claim(KEY, "parent", "fingerprint", 60).claimed

        def claims() -> bool:
            claim = store.claim(KEY, "child", "fingerprint", 60)
            return not claim.claimed and claim.record is not None

        assert exit_code_of_child(claims, store._lock) == 0
