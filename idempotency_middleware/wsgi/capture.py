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
from idempotency_middleware.recording import Recorder, declared_length
from idempotency_middleware.records import Headers
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
            return declared_length(value)
    return None


class _Capture:
    """The recorder of one protected response, and the driver of the record it completes."""

    def __init__(self, driver: SyncDriver, limit: int) -> None:
        self._driver = driver
        self.recorder = Recorder(limit)

    @property
    def finished(self) -> bool:
        """The record was completed or released."""
        return self.recorder.finished

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
            self.recorder.start(_status_code(status), header_lines, _declared_length(headers))

            def capturing_write(data: bytes) -> object:
                self.recorder.sent()
                self.body(data)
                return write(data)

            return capturing_write

        return start

    def body(self, chunk: bytes) -> None:
        """Keep ``chunk``."""
        self._finish(self.recorder.body(chunk))

    def end(self) -> None:
        """The app's iterable is exhausted."""
        self._finish(self.recorder.end())

    def fail(self) -> None:
        """The app raised: the claim is released so a retry runs again."""
        self._finish(self.recorder.fail())

    def drain(self, rest: Iterator[bytes]) -> None:
        """The server stopped before the end (the client left): the app finishes its
        response while the recorder wants it (SEMANTICS 5)."""
        try:
            for chunk in rest:
                self.body(chunk)
                if not self.recorder.drains:
                    break
        except BaseException:
            self.fail()
            raise
        self._finish(self.recorder.gone())

    def _finish(self, result: AppResult | None) -> None:
        if result is not None:
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
        # A WSGI server sends the status line with the first body bytes.
        self._capture.recorder.sent()
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
