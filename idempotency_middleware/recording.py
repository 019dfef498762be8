"""One protected response as it goes out, and the moment its record completes
(SEMANTICS sections 5 and 6), decided once for every adapter.

An adapter tells its :class:`Recorder` what it saw: the status and headers, each body
chunk, the status line going out, the end of the body, the app raising, the client
leaving. Each of these answers the :class:`~idempotency_middleware.steps.AppResult` to
hand the driver at the moment the record must complete or be released, once, and None
otherwise. No I/O: the adapter sends, and iterates what the app produces.

- The record completes before the last byte leaves: with the chunk marked last (ASGI's
  ``more_body``), the chunk that reaches the declared ``Content-Length``, or else the end
  of the body, so a retry sent the moment the response arrives is a replay, never a 409.
- A client that leaves releases nothing: the app goes on to finish its response so that
  it is stored (:attr:`Recorder.drains`), unless it is too large to store anyway.
- A response over the cap completes the record without a body.
"""

from __future__ import annotations

from idempotency_middleware.records import Headers, StoredResponse
from idempotency_middleware.replay import storable_headers
from idempotency_middleware.steps import AppResult

__all__ = ["Recorder", "declared_length"]


def declared_length(value: str | None) -> int | None:
    """The ``Content-Length`` a response declared, or None."""
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() else None


class Recorder:
    """The copy of one protected response, kept up to ``limit`` body bytes, and what
    the record it completes needs to know."""

    __slots__ = (
        "_chunks",
        "_left",
        "_limit",
        "_size",
        "finished",
        "headers",
        "overflowed",
        "rejected",
        "started",
        "status",
    )

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._left: int | None = None
        self.status = 0
        self.headers: Headers = ()
        self.overflowed = False
        """The body outgrew ``limit``: the record completes without one."""
        self.started = False
        """The status line went out: the handler ran and answered, so the record is
        completed even if the body is then cut short."""
        self.finished = False
        self.rejected = False

    def start(
        self, status: int, headers: Headers, declared: int | None = None, rejected: bool = False
    ) -> None:
        """The app began its response; ``declared`` is its ``Content-Length``, where the
        adapter cannot see a last chunk, and ``rejected`` is True when its framework
        refused the request before the handler ran."""
        self.status = status
        self.headers = headers
        self._left = declared
        self.rejected = rejected

    def sent(self) -> None:
        """The status line went out to the client."""
        self.started = True

    def body(self, chunk: bytes, last: bool = False) -> AppResult | None:
        """Keep ``chunk``; the result to finish with when it ends the body."""
        if self.finished:
            return None
        if chunk and not self.overflowed:
            self._size += len(chunk)
            if self._size > self._limit:
                self.overflowed = True
                self._chunks.clear()
            else:
                self._chunks.append(chunk)
        if self._left is not None:
            self._left -= len(chunk)
            last = last or self._left <= 0
        return self._result(raised=False) if last else None

    def end(self) -> AppResult | None:
        """The app's body ended: complete, unless it never started or stopped short."""
        return self._result(raised=self.status == 0 or self.short)

    def fail(self) -> AppResult | None:
        """The app raised, or ended without a whole response."""
        return self._result(raised=True)

    @property
    def short(self) -> bool:
        """The body stopped before its declared length."""
        return self._left is not None and self._left > 0

    @property
    def drains(self) -> bool:
        """With the client gone, the app still finishes its response, to be stored:
        True until the record is done or the body outgrew what is stored."""
        return not (self.finished or self.overflowed)

    def gone(self) -> AppResult | None:
        """The client left and the app stopped producing: what was kept completes the
        record if it is whole, else the handler's answer stands without a body."""
        return self._result(raised=self.status == 0 or self.overflowed or self.short)

    def stored(self) -> StoredResponse | None:
        """The response to store, or None when it outgrew the limit."""
        if self.overflowed:
            return None
        return StoredResponse(self.status, storable_headers(self.headers), b"".join(self._chunks))

    def _result(self, raised: bool) -> AppResult | None:
        if self.finished:
            return None
        self.finished = True
        return AppResult(
            self.status, self.headers, raised, self.stored(), self.started, self.rejected
        )
