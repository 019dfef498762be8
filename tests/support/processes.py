"""Real processes released together, for claims that must hold across processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["run_processes"]


def run_processes(
    target: Callable[..., None],
    arguments: Sequence[tuple[Any, ...]],
    preload: Sequence[str] = ("tests.support.databases",),
) -> list[str]:
    """Start one process per argument tuple, released together by a barrier that is
    passed after the arguments, and collect what each put on the queue after it."""
    # Forked from a clean server that has imported ``preload`` once: fast, and without
    # the threads and connections of the test process that a plain fork would copy.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    start = context.Barrier(len(arguments))
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, start, results)) for args in arguments]
    for process in processes:
        process.start()
    try:
        return [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
        results.close()
