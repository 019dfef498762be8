"""Nothing a store holds open survives a fork.

A worker forked after its store was built and used (``gunicorn --preload``, a
``multiprocessing`` pool started with ``fork``) inherits the store's pooled connections,
clients, locks and threads. Two processes writing on one connection interleave their
statements and read each other's answers; a lock that another thread held at the fork
stays held forever in the child; a thread does not exist there at all. Objects that
hold any of these register here, and each child drops them before it runs anything
else: the child opens its own connections when it first needs one.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol

__all__ = ["ForkAware", "inherit", "register"]


class ForkAware(Protocol):
    """Something that holds connections, locks or threads of its process."""

    def after_fork(self) -> None:
        """Drop, in the child of a fork, what belongs to the parent (without closing
        it: that would close it for the parent too), and start afresh."""


_registered: weakref.WeakSet[ForkAware] = weakref.WeakSet()
_inherited: list[object] = []


def register(holder: ForkAware) -> None:
    """Call ``holder.after_fork()`` in every child forked from now on, while it lives."""
    _registered.add(holder)


def inherit(*held: object) -> None:
    """Keep what a child dropped of its parent's from being collected: collecting a
    connection closes it, and some drivers then tell the server, which would end the
    parent's session."""
    _inherited.extend(held)


def _in_child() -> None:
    for holder in list(_registered):
        holder.after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
    os.register_at_fork(after_in_child=_in_child)
