"""The first response of a protected request, streamed through while a copy is kept.

WSGI has no "last chunk" flag, so the record is completed at the last moment the
adapter still holds the final bytes (SEMANTICS section 5): when the chunk that reaches
the declared ``Content-Length`` passes through, or, without one, when the app's
iterable ends, before the server writes the end of the chunked body or closes the
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from idempotency_middleware.drivers import SyncDriver
from idempotency_middleware.records import Headers
from idempotency_middleware.responses import ResponseCapture
from idempotency_middleware.steps import AppResult

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["CapturedBody", "capture_response"]


def _status_code(status: str) -> int:
    code = status.split(" ", 1)[0]
    return int(code) if code.isdigit() else 0


def _declared_length(headers: list[tuple[str, str]]) -> int | None:
    for name, value in headers:
        if name.lower() == "content-length":
            return int(value) if value.strip().isdigit() else None
    return None


class _Capture:
    """The copy of one protected response, and the record it completes."""

    def __init__(self, driver: SyncDriver, limit: int) -> None:
        self._driver = driver
        self._copy = ResponseCapture(limit)
        self._left: int | None = None
        self.finished = False
        self.started = False
        """A chunk went to the server, so the status line is out (servers send it with
        the first body bytes)."""

    def wrap(self, start_response: StartResponse) -> StartResponse:
        """A ``start_response`` that records the status and headers, and whose ``write``
        callable passes through :meth:`body` too."""

        def start(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
        ) -> Callable[[bytes], object]:
            # The server's call comes first: with exc_info after the headers went out it
            # raises, and the response already recorded stands.
            write = start_response(status, headers, exc_info)
            header_lines: Headers = tuple(
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
            )
            self._copy.start(_status_code(status), header_lines)
            self._left = _declared_length(headers)

            def capturing_write(data: bytes) -> object:
                self.started = True
                self.body(data)
                return write(data)

            return capturing_write

        return start

    def body(self, chunk: bytes) -> None:
        """Keep ``chunk``."""
        if self.finished:
            return
        self._copy.body(chunk)
        if self._left is not None:
            self._left -= len(chunk)
            if self._left <= 0:
                # SEMANTICS 5: complete before the last byte leaves, so a retry sent the
                # moment the response arrives is a replay, never a 409.
                self._finish(raised=False)

    def end(self) -> None:
        """The app's iterable is exhausted."""
        if not self.finished:
            short = self._left is not None and self._left > 0
            self._finish(raised=self._copy.status == 0 or short)

    def fail(self) -> None:
        """The app raised: the claim is released so a retry runs again."""
        if not self.finished:
            self._finish(raised=True)

    def drain(self, rest: Iterator[bytes]) -> None:
        """The server stopped before the end (the client left). SEMANTICS 5: a client
        that leaves releases nothing, so the app finishes its response to be stored,
        unless it is too large to store anyway (then it completes without a body)."""
        try:
            for chunk in rest:
                self.body(chunk)
                if self.finished:
                    return
                if self._copy.overflowed:
                    self.fail()
                    return
        except BaseException:
            self.fail()
            raise
        self.end()

    def _finish(self, raised: bool) -> None:
        self.finished = True
        copy = self._copy
        result = AppResult(copy.status, copy.headers, raised, copy.stored(), self.started)
        self._driver.finish(result)


class CapturedBody:
    """The app's response iterable, passed through chunk by chunk into a :class:`_Capture`."""

    def __init__(self, iterable: Iterable[bytes], capture: _Capture) -> None:
        self._iterable = iterable
        self._iterator: Iterator[bytes] | None = None
        self._capture = capture

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = iter(self._iterable)
            chunk = next(self._iterator)
        except StopIteration:
            # Without a Content-Length the response ends with the iterable; the server
            # writes its end only once this StopIteration reaches it.
            self._capture.end()
            raise
        except BaseException:
            self._capture.fail()
            raise
        self._capture.started = True
        self._capture.body(chunk)
        return chunk

    def close(self) -> None:
        """Called by the server after the last chunk, or when it gave up early."""
        try:
            if not self._capture.finished:
                self._capture.drain(self._iterator or iter(self._iterable))
        finally:
            close = getattr(self._iterable, "close", None)
            if close is not None:
                close()


def capture_response(
    app: WSGIApplication,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    driver: SyncDriver,
    limit: int,
) -> CapturedBody:
    """Call ``app`` under the claim ``driver`` holds; the record completes or is
    released as the response goes out (``limit``: the most body bytes stored)."""
    capture = _Capture(driver, limit)
    try:
        iterable = app(environ, capture.wrap(start_response))
    except BaseException:
        capture.fail()
        raise
    return CapturedBody(iterable, capture)
