"""The WSGI adapter: translates a WSGI environ and response to the protocol's neutral values.

Its flow mirrors the ASGI adapter's: ask :func:`~idempotency_middleware.protocol.inspect`
what the request needs, read the body up to the limit, find the key, then let the sync
driver answer, or run the app while its response is captured.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from idempotency_middleware.drivers import SyncDriver
from idempotency_middleware.options import Options
from idempotency_middleware.outcome_log import Report
from idempotency_middleware.protocol import PassThrough, admit, exchange, inspect
from idempotency_middleware.records import StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.steps import Respond
from idempotency_middleware.wsgi.capture import capture_response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["IdempotencyMiddleware", "Principal", "protect", "remote_user"]

Principal = Callable[["WSGIEnvironment"], "str | None"]
"""Finds the authenticated user id of a request in its environ, or None."""

_READ_SIZE = 64 * 1024


def remote_user(environ: WSGIEnvironment) -> str | None:
    """The user that the server or an authentication middleware put in ``REMOTE_USER``."""
    user = environ.get("REMOTE_USER")
    return str(user) if user else None


def _path(environ: WSGIEnvironment) -> str:
    # PEP 3333 hands PATH_INFO over as bytes decoded as Latin-1; ASGI's path is UTF-8.
    path = str(environ.get("PATH_INFO", "")) or "/"
    try:
        return path.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a server that decoded it already
        return path


def _head(environ: WSGIEnvironment) -> Request:
    headers = []
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            headers.append((name[5:].replace("_", "-").lower(), str(value)))
        elif name in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            headers.append((name.replace("_", "-").lower(), str(value)))
    return Request(
        method=str(environ["REQUEST_METHOD"]).upper(),
        path=_path(environ),
        query_string=str(environ.get("QUERY_STRING", "")),
        headers=tuple(headers),
    )


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _send(start_response: StartResponse, response: StoredResponse) -> list[bytes]:
    headers = [
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers
    ]
    start_response(_status_line(response.status), headers)
    return [response.body]


def _reject(start_response: StartResponse, answer: Respond, report: Report) -> list[bytes]:
    """Answer a request the adapter turns away before any store is involved."""
    report(answer.outcome, answer.response.status)
    return _send(start_response, answer.response)


class _ClientGone(Exception):
    """The body ended before its Content-Length: the client went away."""


def _read_body(environ: WSGIEnvironment, declared: int | None, limit: int) -> bytes | None:
    """The whole body, or None when it is over ``limit``."""
    if declared is None and not environ.get("wsgi.input_terminated"):
        # PEP 3333: without CONTENT_LENGTH an app may not read the input, unless the
        # server marks it as ending where the body does (chunked requests).
        return b""
    stream = environ["wsgi.input"]
    wanted = limit + 1 if declared is None else declared
    chunks: list[bytes] = []
    size = 0
    while size < wanted:
        chunk = stream.read(min(_READ_SIZE, wanted - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if declared is not None and size < declared:
        raise _ClientGone
    return None if size > limit else b"".join(chunks)


def _declared_length(request: Request) -> int | None:
    value = request.header("content-length")
    return int(value) if value is not None and value.isdigit() else None


def protect(
    app: WSGIApplication,
    options: Options,
    environ: WSGIEnvironment,
    start_response: StartResponse,
    *,
    principal: Principal = remote_user,
    route: str | None = None,
) -> Iterable[bytes]:
    """Handle one request for ``app`` under ``options`` (SEMANTICS sections 1 to 7).

    The flow every WSGI integration shares; ``principal`` finds the user that scopes
    the key, and is asked once the body has been read (``wsgi.input`` is then a
    :class:`io.BytesIO` of it); ``route`` is the framework's route, for the reports.
    """
    head = _head(environ)
    options = options.for_path(head.path)
    decision = inspect(options, head)
    if isinstance(decision, PassThrough):
        return app(environ, start_response)
    if isinstance(decision, Respond):
        return _reject(start_response, decision, Report(options, head, route))
    declared = _declared_length(head)
    try:
        body = (
            None
            if (declared or 0) > decision.limit
            else _read_body(environ, declared, limit=decision.limit)
        )
    except _ClientGone:
        # Nobody is left to read an answer; the server needs one all the same.
        start_response("400 Bad Request", [("Content-Length", "0")])
        return []
    user = None
    if body is not None:
        environ["wsgi.input"] = io.BytesIO(body)
        user = principal(environ)
    admitted = admit(options, decision, head, body, user)
    if isinstance(admitted, Respond):
        return _reject(start_response, admitted, Report(options, head, route))
    if isinstance(admitted, PassThrough):
        return app(environ, start_response)
    request = admitted.request
    driver = SyncDriver(
        options.store, exchange(options, request, admitted.key), Report(options, request, route)
    )
    step = driver.begin()
    if isinstance(step, Respond):
        return _send(start_response, step.response)
    if not step.protected:
        return app(environ, start_response)
    return capture_response(app, environ, start_response, driver, options.max_response_bytes)


class IdempotencyMiddleware:
    """Exactly-once POST and PATCH for any WSGI app (SEMANTICS sections 1 to 7).

    ``app.wsgi_app = IdempotencyMiddleware(app.wsgi_app, store=...)``, or around any
    WSGI callable. ``store`` is required, since a per-process default would let each
    worker run a duplicate. The options (``header``, ``key``, ``methods``, ``ttl``,
    ``lease``, ``in_flight``, ``wait_timeout``, ``max_request_bytes``,
    ``max_response_bytes``, ``on_store_error``, ``scope``, ``fingerprint``, ``include``,
    ``required``, ``exclude``, ``secret``, ...) are those of :meth:`Options.build
    <idempotency_middleware.options.Options.build>`; a wrong one raises
    :class:`~idempotency_middleware.errors.ConfigurationError` here, at start-up.

    Path templates match ``PATH_INFO``, the path within the app. The user that scopes
    keys is ``REMOTE_USER``, when the server or an authentication middleware outside
    this one sets it. WSGI servers join repeated header lines with commas; a bare key
    may hold no comma, so two ``Idempotency-Key`` lines are answered 400 ``key-invalid``
    rather than read as one key. A body is read up to ``max_request_bytes`` and handed
    to the app as an :class:`io.BytesIO`.
    """

    def __init__(self, app: WSGIApplication, /, **options: Any) -> None:
        self.app = app
        self.options = Options.build(**options)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return protect(self.app, self.options, environ, start_response)
