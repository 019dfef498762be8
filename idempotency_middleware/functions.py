"""Idempotent functions and background tasks: run once per key, return the stored result.

A call is a request to the same core as HTTP requests, so the same rules hold: one
atomic claim per key, a lease renewed while the function runs, a fingerprint of the
arguments, the record completed with the result or released when the function raises.
A call is the neutral request ``CALL <name>`` whose body is the canonical JSON of its
arguments; its result is a stored response of status 200 whose body the codec wrote.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from idempotency_middleware.drivers import AsyncDriver, SyncDriver
from idempotency_middleware.errors import (
    ConfigurationError,
    IdempotencyError,
    RecordDecodeError,
    StoreError,
)
from idempotency_middleware.functions_codec import JSON, Codec, canonical_arguments
from idempotency_middleware.keys import InvalidKeyError
from idempotency_middleware.options import Options
from idempotency_middleware.protocol import exchange
from idempotency_middleware.records import StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.steps import AppResult, Respond
from idempotency_middleware.stores.base import Store

__all__ = [
    "InProgressError",
    "KeyReusedError",
    "ResultNotStoredError",
    "idempotent",
]

F = TypeVar("F", bound=Callable[..., Any])

_RAISED = AppResult(0, (), True, None)
_NOT_STORED = AppResult(200, (), False, None)
_HEADERS = (("content-type", "application/json"),)


class KeyReusedError(IdempotencyError):
    """The key was already used for a call with other arguments; nothing ran.

    Use a new key for a new call, or pass ``fingerprint=`` to say which arguments
    identify a call when others (timestamps, attempt counters) may differ on repeats.
    """

    status = 422


class InProgressError(IdempotencyError):
    """A call with this key is still running, after waiting ``wait`` seconds for it;
    nothing ran. Retry after ``retry_after`` seconds to get its result."""

    status = 409

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ResultNotStoredError(IdempotencyError):
    """The function ran once for this key, but its result could not be stored.

    Raised to the call that ran it, after its record was completed without a result
    (the function's effects happened, so the key is not freed to run them again), and to
    every repeat of that key until the record expires. Make the function return what its
    codec can store, or choose a codec that stores it.
    """

    status = 409


def _check_key(value: Any, name: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InvalidKeyError(
            f"the idempotency key of a call to {name} is {value!r}; it must be a non-empty "
            "str, such as the message's delivery id"
        )
    return value


class _Call:
    """What an idempotent function knows: its options, and how to read its answers."""

    def __init__(
        self,
        function: Callable[..., Any],
        options: Options,
        key: str | Callable[..., Any],
        name: str,
        codec: Codec,
        fingerprint: Callable[..., Any] | None,
    ) -> None:
        self.function = function
        self.options = options
        self.name = name
        self.codec = codec
        self.signature = inspect.signature(function)
        self.fingerprint = fingerprint
        if isinstance(key, str) and key not in self.signature.parameters:
            raise ConfigurationError(
                f"key={key!r} names no parameter of {name}; name the parameter that holds "
                "the key, or pass a function of the arguments that returns it"
            )
        self.key = key

    def request(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, Request]:
        """The key of a call and the request that stands for it; nothing is claimed yet."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        key = self.key(*args, **kwargs) if callable(self.key) else bound.arguments[self.key]
        key = _check_key(key, self.name)
        arguments = (
            bound.arguments if self.fingerprint is None else self.fingerprint(*args, **kwargs)
        )
        body = canonical_arguments(arguments, self.name)
        return key, Request("CALL", self.name, headers=_HEADERS, body=body)

    def stored(self, result: Any) -> tuple[AppResult, Any]:
        """What to complete the record with, and what the call returns: the value the
        codec reads back, or the error that the result could not be stored."""
        try:
            body = self.codec.encode(result)
            if not isinstance(body, bytes):
                raise TypeError(f"encode returned a {type(body).__name__}, not bytes")
            value = self.codec.decode(body)
        except Exception as exc:
            error = ResultNotStoredError(
                f"{self.name} ran, but its result could not be stored by {self.codec!r} "
                f"({type(exc).__name__}: {exc}); the key is spent, repeats are refused. "
                "Return what the codec stores (JSON: dicts, lists, str, numbers, bool, None), "
                "or pass codec= one that stores this result"
            )
            error.__cause__ = exc
            return _NOT_STORED, error
        return AppResult(200, (), False, StoredResponse(200, (), body)), value

    def answer(self, step: Respond) -> Any:
        """The stored result of a repeat, or the error it stands for."""
        outcome, response = step.outcome, step.response
        if outcome == "replayed":
            try:
                return self.codec.decode(response.body)
            except Exception as exc:
                raise RecordDecodeError(
                    f"the stored result of this call to {self.name} cannot be decoded by "
                    f"{self.codec!r} ({exc}); the function ran once and is not run again. "
                    "Decode with the codec that stored it"
                ) from exc
        if outcome == "mismatch":
            raise KeyReusedError(
                f"this key was already used for a call to {self.name} with other arguments; "
                "use a new key for a new call"
            )
        if outcome == "in-progress":
            retry_after = float(dict(response.headers).get(b"retry-after", b"1"))
            raise InProgressError(
                f"a call to {self.name} with this key is still running; retry after "
                f"{retry_after:g} s to get its result",
                retry_after,
            )
        if outcome == "not-replayable":
            raise ResultNotStoredError(
                f"{self.name} already ran for this key, but its result could not be stored; "
                "it is not run again. Fetch what it did from where it did it"
            )
        if outcome == "record-undecodable":
            raise RecordDecodeError(
                f"the record of this key of {self.name} cannot be read, so nothing ran; "
                "retry later with the same key"
            )
        raise StoreError(
            f"the idempotency store cannot be reached, so {self.name} did not run; "
            "retry with the same key"
        )


def _sync(call: _Call) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        key, request = call.request(args, kwargs)
        driver = SyncDriver(call.options.store, exchange(call.options, request, key))
        step = driver.begin()
        if isinstance(step, Respond):
            return call.answer(step)
        try:
            result = call.function(*args, **kwargs)
        except BaseException:
            if step.protected:
                driver.finish(_RAISED)
            raise
        if not step.protected:
            return result
        completion, value = call.stored(result)
        driver.finish(completion)
        if isinstance(value, ResultNotStoredError):
            raise value
        return value

    return run


def _async(call: _Call) -> Callable[..., Any]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        key, request = call.request(args, kwargs)
        driver = AsyncDriver(call.options.store, exchange(call.options, request, key))
        step = await driver.begin()
        if isinstance(step, Respond):
            return call.answer(step)
        try:
            result = await call.function(*args, **kwargs)
        except BaseException:
            # A cancelled call releases its key too: it may not have done its work.
            if step.protected:
                await driver.finish(_RAISED)
            raise
        if not step.protected:
            return result
        completion, value = call.stored(result)
        await driver.finish(completion)
        if isinstance(value, ResultNotStoredError):
            raise value
        return value

    return run


def idempotent(
    store: Store,
    *,
    key: str | Callable[..., Any],
    name: str | None = None,
    codec: Codec = JSON,
    fingerprint: Callable[..., Any] | None = None,
    ttl: float = 86_400,
    lease: float = 60,
    wait: float = 30,
    on_store_error: str = "fail_closed",
    secret: str | bytes | None = None,
) -> Callable[[F], F]:
    """Make a function, sync or ``async``, run once per key: every repeat of a key gets
    the result of the call that ran, decoded by ``codec``, and the function does not run.

    ``key`` names the parameter that holds the key (a message or delivery id), or is a
    function taking the same arguments that returns it. Keys belong to ``name`` (the
    function's qualified name by default): two functions may use the same keys.

    The arguments are the call's fingerprint: the same key with other arguments raises
    :class:`KeyReusedError`. ``fingerprint`` is a function of the same arguments that
    returns the JSON values that identify the call, for arguments JSON cannot hold or
    that differ on repeats.

    The first call returns what the codec reads back of its result, as every repeat
    does. A repeat while the first call runs waits up to ``wait`` seconds for its result
    (``0``: not at all), then raises :class:`InProgressError`. An exception raised by the
    function frees the key, so a retry runs again. A result the codec cannot store
    raises :class:`ResultNotStoredError`, and the key stays spent.

    ``ttl`` (how long a result is kept), ``lease``, ``on_store_error`` and ``secret``
    are the options of the middleware, with the same defaults and checks.
    """
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or wait < 0:
        raise ConfigurationError(f"wait must be a number of seconds, 0 or more, not {wait!r}")
    if not isinstance(codec, Codec):
        raise ConfigurationError(
            f"codec must have encode(value) -> bytes and decode(bytes) methods, not {codec!r}"
        )
    if not (isinstance(key, str) or callable(key)):
        raise ConfigurationError(
            f"key must name a parameter or be a function of the arguments, not {key!r}"
        )
    if fingerprint is not None and not callable(fingerprint):
        raise ConfigurationError(
            f"fingerprint must be a function of the arguments, not {fingerprint!r}"
        )
    if name is not None and (not isinstance(name, str) or not name):
        raise ConfigurationError(f"name must be a non-empty str, not {name!r}")

    def decorate(function: F) -> F:
        if not callable(function):
            raise ConfigurationError(f"@idempotent decorates a function, not {function!r}")
        called = name or f"{function.__module__}.{function.__qualname__}"
        options = Options.build(
            store=store,
            scope=lambda _request: f"function:{called}",
            ttl=ttl,
            lease=lease,
            in_flight="wait" if wait else "reject",
            wait_timeout=wait or 1,
            on_store_error=on_store_error,
            secret=secret,
        )
        call = _Call(function, options, key, called, codec, fingerprint)
        run = _async(call) if inspect.iscoroutinefunction(function) else _sync(call)
        return functools.wraps(function)(run)  # type: ignore[return-value]

    return decorate
