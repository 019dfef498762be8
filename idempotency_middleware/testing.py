"""Helpers for the tests of an app behind the middleware, whatever its framework.

:class:`IdempotentClient` wraps a test client so that each POST, PUT, PATCH and DELETE
carries a key of its own; :func:`assert_runs_once` sends one request several times at once
under one key and checks that the handler ran once. Neither imports a framework: they
call the client or function they are given and read the ``status_code``, ``headers`` and
body that every test client's responses have (httpx and Starlette's ``TestClient``,
Django's ``Client``, Flask's ``app.test_client()``). The pytest fixtures built on them are
in :mod:`idempotency_middleware.pytest_plugin`.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, Protocol, TypeVar

__all__ = [
    "IdempotentClient",
    "Response",
    "assert_one_run",
    "assert_runs_once",
    "assert_runs_once_async",
    "new_key",
]

REPLAYED = "Idempotent-Replayed"


class Response(Protocol):
    """What the helpers read of a test client's response; ``headers`` is looked up
    without regard to case, as every test client's headers are."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Any: ...


ClientT = TypeVar("ClientT")
ResponseT = TypeVar("ResponseT", bound=Response)


def new_key() -> str:
    """A fresh random key, as a client draws one per operation."""
    return str(uuid.uuid4())


class IdempotentClient(Generic[ClientT]):
    """``client`` (any test client) whose ``post``, ``put``, ``patch`` and ``delete`` each
    send a fresh key in the ``header`` header, unless the call gives one (in ``headers``,
    or as Django's ``HTTP_IDEMPOTENCY_KEY``); :meth:`resend` repeats the last of them with
    its key. Other attributes are the client's own; ``get`` sends no key. An async client
    works too: each method then returns what to await."""

    def __init__(
        self,
        client: ClientT,
        *,
        header: str = "Idempotency-Key",
        new_key: Callable[[], str] = new_key,
    ) -> None:
        self.client = client
        self.header = header
        self.new_key = new_key
        self.last_key: str | None = None
        """The key of the last request sent with a key."""
        self._last: tuple[str, tuple[Any, ...], dict[str, Any]] | None = None

    def post(self, *args: Any, **kwargs: Any) -> Any:
        """The client's ``post``, with a key."""
        return self._send("post", args, kwargs)

    def put(self, *args: Any, **kwargs: Any) -> Any:
        """The client's ``put``, with a key."""
        return self._send("put", args, kwargs)

    def patch(self, *args: Any, **kwargs: Any) -> Any:
        """The client's ``patch``, with a key."""
        return self._send("patch", args, kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        """The client's ``delete``, with a key."""
        return self._send("delete", args, kwargs)

    def resend(self) -> Any:
        """Send the last request again, with the same key and body: a client's retry."""
        if self._last is None:
            raise LookupError(
                "nothing to resend: send a request with post(), put(), patch() or delete() first"
            )
        method, args, kwargs = self._last
        return getattr(self.client, method)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "client":  # not set yet, as while unpickling
            raise AttributeError(name)
        return getattr(self.client, name)

    def _send(self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _given_key(kwargs, self.header)
        if key is None:
            key = self.new_key()
            kwargs = {**kwargs, "headers": _with_header(kwargs.get("headers"), self.header, key)}
        self.last_key = key
        self._last = (method, args, kwargs)
        return getattr(self.client, method)(*args, **kwargs)


def _pairs(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    return list(headers.items()) if hasattr(headers, "items") else list(headers)


def _given_key(kwargs: dict[str, Any], header: str) -> str | None:
    wanted = header.lower()
    for name, value in _pairs(kwargs.get("headers")):
        if name.lower() == wanted:
            return str(value)
    # Django's test client also takes headers as WSGI environ names.
    environ: str | None = kwargs.get("HTTP_" + header.upper().replace("-", "_"))
    return environ


def _with_header(headers: Any, header: str, key: str) -> Any:
    # Keep the caller's shape: a list of pairs stays one; Django's client wants a mapping.
    if headers is not None and not hasattr(headers, "items"):
        return [*headers, (header, key)]
    return {**dict(_pairs(headers)), header: key}


def _replayed(response: Response) -> bool:
    return str(response.headers.get(REPLAYED, "")).lower() == "true"


def _body(response: Response) -> bytes | None:
    # httpx and Django responses have .content, Werkzeug's .get_data(); a stream has neither.
    content = getattr(response, "content", None)
    if isinstance(content, bytes):
        return content
    get_data = getattr(response, "get_data", None)
    data = get_data() if callable(get_data) else None
    return data if isinstance(data, bytes) else None


def _described(responses: Sequence[Response]) -> str:
    return ", ".join(
        f"{response.status_code}{' replayed' if _replayed(response) else ''}"
        for response in responses
    )


def assert_one_run(responses: Sequence[ResponseT], *, runs: int | None = None) -> ResponseT:
    """Check the answers to identical requests sent with one key, and return the original.

    Exactly one answer is the handler's (neither ``Idempotent-Replayed: true`` nor a 409);
    every other is a 409 (it came while the handler ran) or a replay, with the original's
    status and body. ``runs``, when given, is how many times the handler ran, and must
    be 1. Raises :class:`AssertionError` saying what was seen otherwise.
    """
    __tracebackhide__ = True  # pytest shows the test's line, not this function's
    count = len(responses)
    seen = f"Answers: {_described(responses)}."
    if runs is not None and runs != 1:
        raise AssertionError(
            f"the handler ran {runs} times for {count} identical requests with one key; "
            f"expected once. {seen}"
        )
    originals = [r for r in responses if not _replayed(r) and r.status_code != 409]
    if not originals:
        raise AssertionError(
            f"none of {count} identical requests with one key ran the handler: each answer "
            f"is a replay or a 409. Was the key used before? {seen}"
        )
    if len(originals) > 1:
        raise AssertionError(
            f"{len(originals)} of {count} identical requests with one key ran the handler "
            f"(answered neither with {REPLAYED}: true nor 409); expected exactly one. Does "
            f"the middleware cover this route and method? {seen}"
        )
    (original,) = originals
    for response in responses:
        if _replayed(response) and (
            response.status_code != original.status_code or _body(response) != _body(original)
        ):
            raise AssertionError(
                f"a replay differs from the original: {response.status_code} "
                f"{_body(response)!r} for {original.status_code} {_body(original)!r}."
            )
    return original


def _checked_times(times: int) -> None:
    if times < 2:
        raise ValueError(f"times={times}: send at least 2 identical requests to see one run")


def assert_runs_once(
    send: Callable[[str], ResponseT],
    *,
    times: int = 5,
    concurrency: int | None = None,
    key: str | None = None,
    runs: Callable[[], int] | None = None,
) -> ResponseT:
    """Call ``send(key)`` ``times`` times at once, each from a thread of its own (at most
    ``concurrency`` threads, ``times`` by default), with one ``key`` (a fresh one unless
    given), and check with :func:`assert_one_run` that the handler ran once; return the
    original answer.

    ``send`` sends the request with the key and returns the response; a test client that
    is not shared between threads (Django's, Flask's) is made in ``send``. ``runs``, if
    given, counts the handler's runs so far (rows in a table, calls of a mock): it is read
    before and after, and the difference must be 1.
    """
    __tracebackhide__ = True
    _checked_times(times)
    key = key or new_key()
    before = runs() if runs is not None else 0
    start = threading.Event()

    def send_at_start() -> ResponseT:
        start.wait()
        return send(key)

    with ThreadPoolExecutor(concurrency or times) as pool:
        futures = [pool.submit(send_at_start) for _ in range(times)]
        start.set()
        responses = [future.result() for future in futures]
    return assert_one_run(responses, runs=None if runs is None else runs() - before)


async def assert_runs_once_async(
    send: Callable[[str], Awaitable[ResponseT]],
    *,
    times: int = 5,
    key: str | None = None,
    runs: Callable[[], int] | None = None,
) -> ResponseT:
    """:func:`assert_runs_once` for an async client (``httpx.AsyncClient`` on the app's
    ASGI transport): the ``times`` sends run together in the event loop."""
    __tracebackhide__ = True
    _checked_times(times)
    key = key or new_key()
    before = runs() if runs is not None else 0
    responses = await asyncio.gather(*(send(key) for _ in range(times)))
    return assert_one_run(responses, runs=None if runs is None else runs() - before)
