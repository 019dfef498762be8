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

from idempotency_middleware.outcome_log import logger
from idempotency_middleware.recording import Recorder, declared_length
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
    """The recorder of one protected response, and the record it completes.

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
        self.recorder = Recorder(limit)
        self._finish = finish
        self._afinish = afinish

    def start(self, response: HttpResponseBase) -> None:
        """The view's response, before its body goes out."""
        headers = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.items()
        )
        # Django REST framework marks the response of an exception it handled; its 400s
        # are ValidationError and ParseError, raised before the view did its work.
        rejected = getattr(response, "exception", False) is True and response.status_code == 400
        declared = declared_length(response.get("Content-Length"))
        self.recorder.start(response.status_code, headers, declared, rejected)

    def finish(self, result: AppResult | None) -> None:
        """Complete or release the record with ``result``, when there is one."""
        if result is not None:
            self._finish(result)

    async def afinish(self, result: AppResult | None) -> None:
        """:meth:`finish` from async code."""
        if result is not None:
            await self._afinish(result)


def record(response: HttpResponseBase, recording: Recording) -> HttpResponseBase:
    """Keep ``response`` as it goes out (sync middleware)."""
    recording.start(response)
    if isinstance(response, StreamingHttpResponse):
        _relay_into(response, recording)
    else:
        content = cast(HttpResponse, response).content
        recording.finish(recording.recorder.body(content, last=True))
    return response


async def arecord(response: HttpResponseBase, recording: Recording) -> HttpResponseBase:
    """Keep ``response`` as it goes out (async middleware)."""
    recording.start(response)
    if isinstance(response, StreamingHttpResponse):
        _relay_into(response, recording)
    else:
        content = cast(HttpResponse, response).content
        await recording.afinish(recording.recorder.body(content, last=True))
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
    recorder = recording.recorder
    try:
        for chunk in chunks:
            recording.finish(recorder.body(chunk))
            # A WSGI server sends the status line with the first body bytes.
            recorder.sent()
            yield chunk
    except GeneratorExit:
        _drain(chunks, recording)
        raise
    except BaseException:
        recording.finish(recorder.fail())
        raise
    recording.finish(recorder.end())


async def _arelay(chunks: AsyncIterator[bytes], recording: Recording) -> AsyncIterator[bytes]:
    # Django's ASGI handler sends the status line before it iterates the body; a
    # disconnect then cancels the iteration, which must not release the key.
    recorder = recording.recorder
    recorder.sent()
    try:
        async for chunk in chunks:
            await recording.afinish(recorder.body(chunk))
            yield chunk
    except GeneratorExit:
        await _adrain(chunks, recording)
        raise
    except BaseException:
        await recording.afinish(recorder.fail())
        raise
    await recording.afinish(recorder.end())


# The server stopped before the end: the client left. SEMANTICS 5: that releases
# nothing, so the rest of the body is produced to be stored, unless it is too large to
# store anyway (then the record completes without a body, as by the other adapters).


def _drain(chunks: Iterator[bytes], recording: Recording) -> None:
    recorder = recording.recorder
    if recorder.finished:
        return
    try:
        for chunk in chunks:
            recording.finish(recorder.body(chunk))
            if not recorder.drains:
                break
    except BaseException:
        recording.finish(recorder.fail())
        raise
    recording.finish(recorder.gone())


async def _adrain(chunks: AsyncIterator[bytes], recording: Recording) -> None:
    recorder = recording.recorder
    if recorder.finished:
        return
    try:
        async for chunk in chunks:
            await recording.afinish(recorder.body(chunk))
            if not recorder.drains:
                break
    except BaseException:
        await recording.afinish(recorder.fail())
        raise
    await recording.afinish(recorder.gone())


async def record_later(view: asyncio.Future[HttpResponseBase], recording: Recording) -> None:
    """Complete the record from a view whose request was cancelled.

    Django's ASGI handler cancels the request when its client disconnects, while the
    view may go on (a sync view's thread cannot be stopped). SEMANTICS 5: a client that
    leaves releases nothing, so the view's response is awaited and stored.
    """
    try:
        response = await view
    except BaseException:
        await recording.afinish(recording.recorder.fail())
        return
    try:
        recording.start(response)
        if not isinstance(response, StreamingHttpResponse):
            content = cast(HttpResponse, response).content
            await recording.afinish(recording.recorder.body(content, last=True))
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
