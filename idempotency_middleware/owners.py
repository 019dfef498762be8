"""Owner tokens: which attempt of a request holds its claim (SEMANTICS section 5).

A token must never repeat, in any process, at any time: a repeat would let one attempt
complete or release another's claim. A random prefix drawn once per process (and again
in each forked child) followed by a counter gives that without a system call per
request, which ``os.urandom`` would cost.
"""

from __future__ import annotations

import itertools
import os
import secrets

__all__ = ["new_owner"]

_PREFIX_BYTES = 16


class _Tokens:
    def __init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        self.prefix = secrets.token_hex(_PREFIX_BYTES)
        self.counter = itertools.count()


_tokens = _Tokens()

if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_tokens.restart)


def new_owner() -> str:
    """A token no other claim in any process has had: 32 random hex digits, then a count."""
    return f"{_tokens.prefix}{next(_tokens.counter):x}"
