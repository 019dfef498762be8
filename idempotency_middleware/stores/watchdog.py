"""A time bound for blocking drivers that have none of their own.

psycopg's sync connections wait for a reply as long as the socket stays open: the
server's ``statement_timeout`` does not help when the server (or a proxy, a NAT, a
frozen VM on the way) has stopped answering, and TCP gives up only on data it could not
deliver. The watchdog shuts down the socket of a call that outlives its deadline, so the
driver's wait ends with a connection error, which the store answers as
:class:`~idempotency_middleware.errors.StoreError`.

One thread per process watches every call. Arming and disarming a call costs a lock and
a dict entry; the thread wakes only when the earliest deadline comes, or when a call
arrives with a deadline earlier than the one it sleeps towards.
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import threading
import time

from idempotency_middleware.stores import forks

__all__ = ["Watchdog", "watchdog"]


class Watchdog:
    """Shuts down the sockets of calls that outlive their deadline."""

    def __init__(self) -> None:
        self.after_fork()
        forks.register(self)

    def after_fork(self) -> None:
        """Start afresh (in a forked child too): nothing watched, no thread, a free lock."""
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._armed: dict[int, tuple[float, int, tuple[int, int]]] = {}
        self._fired: set[int] = set()
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleeping_until = math.inf

    def arm(self, fd: int, seconds: float) -> int:
        """Watch the socket ``fd`` for ``seconds``; the token to :meth:`disarm` it with."""
        deadline = time.monotonic() + seconds
        # The socket's identity: if it were closed and its number reused before the
        # call disarms, the watchdog must not shut down a stranger's socket.
        stat = os.fstat(fd)
        with self._lock:
            token = next(self._tokens)
            self._armed[token] = (deadline, fd, (stat.st_dev, stat.st_ino))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="idempotency-watchdog", daemon=True
                )
                self._thread.start()
            elif deadline < self._sleeping_until:
                self._wake.notify()
        return token

    def disarm(self, token: int) -> bool:
        """Stop watching; True if the deadline had passed and the socket was shut down."""
        with self._lock:
            del self._armed[token]
            if token in self._fired:
                self._fired.discard(token)
                return True
            return False

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for token, (deadline, fd, identity) in list(self._armed.items()):
                    if deadline <= now and token not in self._fired:
                        self._fired.add(token)
                        _shut_down(fd, identity)
                pending = [
                    deadline
                    for token, (deadline, *_) in self._armed.items()
                    if token not in self._fired
                ]
                self._sleeping_until = min(pending, default=math.inf)
                wait = self._sleeping_until - now
                self._wake.wait(None if math.isinf(wait) else max(wait, 0.001))


def _shut_down(fd: int, identity: tuple[int, int]) -> None:
    try:
        stat = os.fstat(fd)
        if (stat.st_dev, stat.st_ino) != identity:
            return
        # A duplicate descriptor: shutting it down ends the connection for the driver
        # too, and closing it leaves the driver's own descriptor for the driver to close.
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed meanwhile: the call is over


watchdog = Watchdog()
"""The watchdog of this process."""
