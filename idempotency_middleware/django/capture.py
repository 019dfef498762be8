"""Django responses in and out of the neutral values: what the view produced, kept while
it goes out, and what a replay or a problem sends.

The record completes before the last byte leaves (SEMANTICS 5): for an ``HttpResponse``
before the middleware returns it; for a ``StreamingHttpResponse`` when the chunk that
reaches its ``Content-Length`` passes or, without one, when its iterator ends, before the
server writes the end of the chunked body.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import cast

from asgiref.sync import sync_to_async
from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse

from idempotency_middleware.events import logger
from idempotency_middleware.responses import ResponseCapture
from idempotency_middleware.steps import AppResult, Done, Respond

__all__ = ["Recording", "arecord", "http_response", "record", "record_later"]


def http_response(answer: Respond) -> HttpResponse:
    """A replay or a problem as a Django response. Django keeps one value per header
    name, so repeated lines (stored by another adapter) are joined with commas."""
    stored = answer.response
    response = HttpResponse(stored.body, status=stored.status)
    del response["Content-Type"]
    for name, value in stored.headers:
        header = name.decode("latin-1")
        text = value.decode("latin-1")
        response[header] = f"{response[header]}, {text}" if header in response else text
    if answer.outcome != "replayed" and stored.status < 500:
        # The client's mistake, which our outcome log records: django.request would add a
        # WARNING line per duplicate, and its log_response skips a response it logged.
        # Server errors stay Django's to report.
        response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class Recording:
    """The copy of one protected response, and the record it completes.

    ``finish`` and ``afinish`` hand the app's result to the driver from sync and async
    code; the middleware builds both for its mode, since a streamed body may be
    iterated in the other one.
    """

    def __init__(
        self,
        limit: int,
        finish: Callable[[AppResult], Done],
        afinish: Callable[[AppResult], Awaitable[Done]],
    ) -> None:
        self._copy = ResponseCapture(limit)
        self._finish = finish
        self._afinish = afinish
        self._left: int | None = None
        self.finished = False
        self.started = False
        """The server has begun sending the streamed body, so its status line is out."""
        self.rejected = False

    def start(self, response: HttpResponseBase) -> None:
        headers = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.items()
        )
        self._copy.start(response.status_code, headers)
        # Django REST framework marks the response of an exception it handled; its 400s
        # are ValidationError and ParseError, raised before the view did its work.
        self.rejected = (
            getattr(response, "exception", False) is True and response.status_code == 400
        )
        length = response.get("Content-Length")
        self._left = int(length) if length is not None and length.isdigit() else None

    def body(self, chunk: bytes) -> bool:
        """Keep ``chunk``; True if it reaches the declared ``Content-Length``."""
        self._copy.body(chunk)
        if self._left is None:
            return False
        self._left -= len(chunk)
        return self._left <= 0

    @property
    def overflowed(self) -> bool:
        """The body outgrew what is stored."""
        return self._copy.overflowed

    @property
    def short(self) -> bool:
        """The body stopped short of its declared length."""
        return self._left is not None and self._left > 0

    @property
    def incomplete(self) -> bool:
        """The body stopped short of its length, or outgrew what is stored."""
        return self._copy.overflowed or self.short

    def _result(self, raised: bool) -> AppResult | None:
        if self.finished:
            return None
        self.finished = True
        copy = self._copy
        return AppResult(
            copy.status, copy.headers, raised, copy.stored(), self.started, self.rejected
        )

    def finish(self, raised: bool) -> None:
        """Complete the record (or release it, if ``raised``), once."""
        result = self._result(raised)
        if result is not None:
            self._finish(result)

    async def afinish(self, raised: bool) -> None:
        """:meth:`finish` from async code."""
        result = self._result(raised)
        if result is not None:
            await self._afinish(result)


def record(response: HttpResponseBase, recording: Recording) -> HttpResponseBase:
    """Keep ``response`` as it goes out (sync middleware)."""
    recording.start(response)
    if isinstance(response, StreamingHttpResponse):
        _relay_into(response, recording)
    else:
        recording.body(cast(HttpResponse, response).content)
        recording.finish(raised=False)
    return response


async def arecord(response: HttpResponseBase, recording: Recording) -> HttpResponseBase:
    """Keep ``response`` as it goes out (async middleware)."""
    recording.start(response)
    if isinstance(response, StreamingHttpResponse):
        _relay_into(response, recording)
    else:
        recording.body(cast(HttpResponse, response).content)
        await recording.afinish(raised=False)
    return response


def _relay_into(response: StreamingHttpResponse, recording: Recording) -> None:
    # Django's getter maps each chunk to bytes, in the iterator's own mode.
    if response.is_async:
        chunks = cast(AsyncIterator[bytes], response.streaming_content)
        response.streaming_content = _arelay(chunks, recording)
        return
    relay = _relay(cast(Iterator[bytes], response.streaming_content), recording)
    response.streaming_content = relay
    # response.close() calls its closers in order, the view's iterator's first: the
    # relay goes first, so that a body cut short can still be drained from it.
    closers: list[Callable[[], object]] | None = getattr(response, "_resource_closers", None)
    if closers is not None and relay.close in closers:
        closers.remove(relay.close)
        closers.insert(0, relay.close)


def _relay(chunks: Iterator[bytes], recording: Recording) -> Generator[bytes, None, None]:
    try:
        for chunk in chunks:
            if recording.body(chunk):
                recording.finish(raised=False)
            # A WSGI server sends the status line with the first body bytes.
            recording.started = True
            yield chunk
    except GeneratorExit:
        _drain(chunks, recording)
        raise
    except BaseException:
        recording.finish(raised=True)
        raise
    # The caller got the whole body: one too large to store still completes the record,
    # without a body, so that a duplicate is not run again (SEMANTICS 6).
    recording.finish(raised=recording.short)


async def _arelay(chunks: AsyncIterator[bytes], recording: Recording) -> AsyncIterator[bytes]:
    # Django's ASGI handler sends the status line before it iterates the body; a
    # disconnect then cancels the iteration, which must not release the key.
    recording.started = True
    try:
        async for chunk in chunks:
            if recording.body(chunk):
                await recording.afinish(raised=False)
            yield chunk
    except GeneratorExit:
        await _adrain(chunks, recording)
        raise
    except BaseException:
        await recording.afinish(raised=True)
        raise
    await recording.afinish(raised=recording.short)


# The server stopped before the end: the client left. SEMANTICS 5: that releases
# nothing, so the rest of the body is produced to be stored, unless it is too large to
# store anyway (then the record completes without a body, as by the other adapters).


def _drain(chunks: Iterator[bytes], recording: Recording) -> None:
    if recording.finished:
        return
    try:
        for chunk in chunks:
            if recording.body(chunk) or recording.overflowed:
                break
    except BaseException:
        recording.finish(raised=True)
        raise
    recording.finish(raised=recording.incomplete)


async def _adrain(chunks: AsyncIterator[bytes], recording: Recording) -> None:
    if recording.finished:
        return
    try:
        async for chunk in chunks:
            if recording.body(chunk) or recording.overflowed:
                break
    except BaseException:
        await recording.afinish(raised=True)
        raise
    await recording.afinish(raised=recording.incomplete)


async def record_later(view: asyncio.Future[HttpResponseBase], recording: Recording) -> None:
    """Complete the record from a view whose request was cancelled.

    Django's ASGI handler cancels the request when its client disconnects, while the
    view may go on (a sync view's thread cannot be stopped). SEMANTICS 5: a client that
    leaves releases nothing, so the view's response is awaited and stored.
    """
    try:
        response = await view
    except BaseException:
        await recording.afinish(raised=True)
        return
    try:
        recording.start(response)
        if not isinstance(response, StreamingHttpResponse):
            recording.body(cast(HttpResponse, response).content)
            await recording.afinish(raised=False)
        elif response.is_async:
            await _adrain(cast(AsyncIterator[bytes], response.streaming_content), recording)
        else:
            await sync_to_async(_drain)(
                cast(Iterator[bytes], response.streaming_content), recording
            )
    except Exception:
        logger.exception("idempotency: the response of a cancelled request was not stored")
    finally:
        await sync_to_async(response.close)()
