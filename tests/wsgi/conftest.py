"""A WSGI server in miniature: build an environ, call the app, consume its response.

The calls are plain PEP 3333, so the order of chunks, the moment ``close()`` is called
and the state of the store at each step are observable exactly.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import Store
from tests.support.problems import assert_problem as assert_problem

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

__all__ = [
    "Response",
    "assert_problem",
    "chunked_app",
    "environ",
    "record_of",
    "serve",
]


def environ(
    method: str = "POST",
    path: str = "/orders",
    body: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    *,
    content_length: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """An environ as a server builds it: repeated header lines joined with commas."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if content_length:
        env["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers:
        if name.lower() == "content-type":
            env["CONTENT_TYPE"] = value
            continue
        variable = "HTTP_" + name.upper().replace("-", "_")
        env[variable] = f"{env[variable]},{value}" if variable in env else value
    env.update(extra)
    return env


@dataclass
class Response:
    """What a server received from the app."""

    status: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    @property
    def code(self) -> int:
        return int(self.status.split()[0])

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


def serve(
    app: WSGIApplication,
    env: WSGIEnvironment,
    *,
    on_chunk: Callable[[int, bytes], None] | None = None,
    stop_after: int | None = None,
) -> Response:
    """Call ``app`` like a server: ``on_chunk(index, chunk)`` runs as each chunk is
    handed over; with ``stop_after`` the client goes away after that many chunks."""
    response = Response()

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
    ) -> Callable[[bytes], object]:
        response.status, response.headers = status, list(headers)
        return response.chunks.append

    result = app(env, start_response)
    try:
        for index, chunk in enumerate(result):
            response.chunks.append(chunk)
            if on_chunk is not None:
                on_chunk(index, chunk)
            if stop_after is not None and index + 1 >= stop_after:
                break
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return response


def chunked_app(
    calls: Counter[str],
    chunks: Iterable[bytes],
    *,
    status: str = "201 Created",
    headers: Sequence[tuple[str, str]] = (),
    closed: list[bool] | None = None,
) -> WSGIApplication:
    """An app that answers ``chunks`` one by one from a generator."""
    every = list(chunks)

    def app(env: WSGIEnvironment, start_response: Any) -> Iterable[bytes]:
        calls["chunked"] += 1
        start_response(status, list(headers))

        def produce() -> Iterable[bytes]:
            try:
                yield from every
            finally:
                if closed is not None:
                    closed.append(True)

        return produce()

    return app


def record_of(store: Store, key: str, scope: str = ANONYMOUS_SCOPE) -> Record | None:
    return store.get(lookup_key(scope, key, None))


def assert_completed_without_a_body(record: Record | None, retry: Response) -> None:
    """``record`` completed without a replayable body, so ``retry`` got a 409."""
    assert record is not None
    assert record.state is RecordState.COMPLETED
    assert record.response is None
    assert_problem(retry, 409, "response-not-replayable")
