"""The Django middleware: one class for WSGI and ASGI Django (SEMANTICS sections 1 to 7)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import Resolver404, resolve

from idempotency_middleware.django.body import request_body
from idempotency_middleware.django.capture import (
    Recording,
    arecord,
    http_response,
    record,
    record_later,
)
from idempotency_middleware.django.checks import check_cache_is_shared
from idempotency_middleware.django.conf import conf
from idempotency_middleware.django.decorators import policy_of
from idempotency_middleware.drivers import AsyncDriver, SyncDriver
from idempotency_middleware.options import Options
from idempotency_middleware.outcome_log import Report, logger
from idempotency_middleware.protocol import PassThrough, admit, exchange, inspect
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope
from idempotency_middleware.steps import AppResult, Done, Respond

__all__ = ["IdempotencyMiddleware"]

_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class _Keyed:
    """A covered request with its key, ready for its record."""

    options: Options
    request: Request
    key: str
    route: str | None


@dataclass(frozen=True)
class _Refused:
    """A covered request answered before any store is involved (400, 413)."""

    options: Options
    route: str | None
    answer: Respond


def _head(request: HttpRequest) -> Request:
    return Request(
        method=request.method or "",
        path=request.path_info,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=tuple((name.lower(), value) for name, value in request.headers.items()),
    )


def _options(request: HttpRequest) -> tuple[Options, str | None] | None:
    """The options for this request's view and its route; None when it passes through
    untouched."""
    options = conf.options()
    # Every request passes here: resolve the view only for covered methods (a view
    # cannot change the methods).
    if request.method not in options.methods:
        return None
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return options, None
    route = "/" + match.route if match.route else None
    policy = policy_of(match.func, request.method)
    if policy is None:
        return options, route
    return None if policy.exempt else (conf.options(policy), route)


def _prepare(request: HttpRequest) -> _Keyed | _Refused | None:
    """What the request needs: None to pass it through, an answer, or its record."""
    found = _options(request)
    if found is None:
        return None
    options, route = found
    head = _head(request)
    decision = inspect(options, head)
    if isinstance(decision, PassThrough):
        return None
    if isinstance(decision, Respond):
        return _Refused(options, route, decision)
    admitted = admit(options, decision, head, request_body(request, decision.limit))
    if isinstance(admitted, PassThrough):
        return None
    if isinstance(admitted, Respond):
        return _Refused(options, route, admitted)
    return _Keyed(options, admitted.request, admitted.key, route)


def _answer(refused: _Refused, request: HttpRequest) -> HttpResponseBase:
    """An answer given before any store is involved, reported to the view's listeners."""
    answer = refused.answer
    Report(refused.options, _head(request), refused.route)(answer.outcome, answer.response.status)
    return http_response(answer)


_D = TypeVar("_D", SyncDriver, AsyncDriver)


def _driver(kind: type[_D], prepared: _Keyed, request: Request) -> _D:
    """The driver of ``prepared``'s record, for the sync or the async path; ``request``
    is its neutral request with the principal."""
    options = prepared.options
    steps = exchange(options, request, prepared.key)
    return kind(options.store, steps, Report(options, request, prepared.route))


async def _scoped_in_a_thread(prepared: _Keyed, request: Request) -> _Keyed:
    # A project's scope function may query the ORM (a DRF token's user), which Django
    # refuses on the event loop: it runs once, in a thread, and its answer stands.
    if prepared.options.scope is default_scope:
        return prepared
    scope = await sync_to_async(prepared.options.scope)(request)
    return replace(prepared, options=replace(prepared.options, scope=lambda _: scope))


def _principal(user: Any) -> str | None:
    # SEMANTICS 3: the authenticated user scopes keys.
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    return str(user.pk)


def _with_principal(request: Request, user: Any) -> Request:
    # Built directly: dataclasses.replace inspects every field on each call.
    principal = _principal(user)
    return Request(
        request.method, request.path, request.query_string, request.headers, request.body, principal
    )


def _shielded(
    finish: Callable[[AppResult], Awaitable[Done]],
) -> Callable[[AppResult], Awaitable[Done]]:
    # A client that leaves makes Django cancel its request, but the record must still be
    # written, or the key would stay claimed until its lease ends.
    async def shielded(result: AppResult) -> Done:
        return await asyncio.shield(asyncio.ensure_future(finish(result)))

    return shielded


@functools.cache
def _warn_about_the_cache() -> None:
    """Log the deployment checks of the cache store once per process, at start-up.

    ``check --deploy`` runs them only with the app in ``INSTALLED_APPS``; a production
    server set up with the ``MIDDLEWARE`` line alone still says, in its log, that its
    cache lets a duplicate sent to another worker run again.
    """
    for message in check_cache_is_shared(None):
        logger.warning("%s %s (%s)", message.msg, message.hint, message.id)


class IdempotencyMiddleware:
    """Exactly-once POST and PATCH for a Django project.

    Add ``"idempotency_middleware.django.IdempotencyMiddleware"`` to MIDDLEWARE after
    ``AuthenticationMiddleware``: a key belongs to ``request.user``, which must be set
    by then (keys of anonymous callers are scoped by their ``Authorization`` header).
    Every setting is optional; see :mod:`idempotency_middleware.django.conf`. Records
    live in Django's cache when every worker shares it (Redis, Memcached), else in the
    project's database; a wrong setting raises
    :class:`~idempotency_middleware.errors.ConfigurationError` when the middleware is
    loaded, and ``manage.py check`` reports it with the app installed.

    One class serves WSGI and ASGI: Django gives it a sync or an async ``get_response``
    and it runs the same protocol with the store's sync or async face. Views are
    resolved before they run, so ``@idempotency_exempt`` and ``@idempotency_required``
    apply while the middleware still sees the whole response.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        # SEMANTICS 7: a wrong setting fails here, at start-up, not at the first request.
        conf.options()
        if not settings.DEBUG:
            _warn_about_the_cache()

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        respond = cast(Callable[[HttpRequest], HttpResponseBase], self.get_response)
        prepared = _prepare(request)
        if not isinstance(prepared, _Keyed):
            return respond(request) if prepared is None else _answer(prepared, request)
        neutral = _with_principal(prepared.request, getattr(request, "user", None))
        driver = _driver(SyncDriver, prepared, neutral)
        options = prepared.options
        step = driver.begin()
        if isinstance(step, Respond):
            return http_response(step)
        if not step.protected:
            return respond(request)
        # A streamed body iterated by an async server finishes from async code.
        recording = Recording(
            options.max_response_bytes, driver.finish, sync_to_async(driver.finish)
        )
        try:
            response = respond(request)
        except BaseException:
            recording.finish(recording.recorder.fail())
            raise
        return record(response, recording)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        """The async face, for ASGI Django."""
        respond = cast(Callable[[HttpRequest], Awaitable[HttpResponseBase]], self.get_response)
        prepared = _prepare(request)
        if not isinstance(prepared, _Keyed):
            return await respond(request) if prepared is None else _answer(prepared, request)
        # request.user would query the database from the event loop; auser() does not.
        auser = getattr(request, "auser", None)
        user = await auser() if auser is not None else getattr(request, "user", None)
        neutral = _with_principal(prepared.request, user)
        prepared = await _scoped_in_a_thread(prepared, neutral)
        driver = _driver(AsyncDriver, prepared, neutral)
        options = prepared.options
        step = await driver.begin()
        if isinstance(step, Respond):
            return http_response(step)
        if not step.protected:
            return await respond(request)
        finish = _shielded(driver.finish)
        # A sync streamed body is iterated in a worker thread and finishes from there.
        recording = Recording(options.max_response_bytes, async_to_sync(finish), finish)
        view = asyncio.ensure_future(respond(request))
        try:
            response = await asyncio.shield(view)
        except asyncio.CancelledError:
            task = asyncio.ensure_future(record_later(view, recording))
            _background.add(task)
            task.add_done_callback(_background.discard)
            raise
        except BaseException:
            await recording.afinish(recording.recorder.fail())
            raise
        return await arecord(response, recording)
