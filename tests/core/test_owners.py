"""Owner tokens never repeat, in a forked child either (``gunicorn --preload``)."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

from idempotency_middleware.owners import new_owner


@pytest.mark.skipif(sys.platform == "win32", reason="no fork on Windows")
def test_a_forked_child_draws_tokens_its_parent_never_does() -> None:
    new_owner()  # the parent has drawn tokens before the fork, as a preloaded app may
    reader, writer = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns when other threads run at the fork; none matters here.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        try:
            os.write(writer, "\n".join(new_owner() for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    parent = {new_owner() for _ in range(50)}
    with os.fdopen(reader) as pipe:
        child = set(pipe.read().split("\n"))
    os.waitpid(pid, 0)
    assert len(child) == 50
    assert not parent & child
