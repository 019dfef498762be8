"""Per-view control: ``@idempotency_exempt`` and ``@idempotency_required``.

They work on function views, on class-based views (decorate the class, or a method
with ``method_decorator``) and on Django REST framework views and viewsets (the class,
or one action such as ``create``). The middleware resolves the view before calling it,
so it sees these marks while still wrapping the whole response.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from asgiref.sync import iscoroutinefunction

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.options import APP_WIDE, Options
from idempotency_middleware.stores.memory import MemoryStore

__all__ = ["VIEW_OPTIONS", "ViewPolicy", "idempotency_exempt", "idempotency_required", "policy_of"]

_V = TypeVar("_V")

_ATTRIBUTE = "idempotency_policy"

VIEW_OPTIONS = frozenset(Options.names()) - APP_WIDE - {"auto_window"}
"""The options one view may set for itself; the others hold for the whole site."""


@dataclass(frozen=True, eq=False)
class ViewPolicy:
    """What a decorator asked of a view: no protection, or a key required with
    ``options`` in place of the settings."""

    exempt: bool
    options: Mapping[str, Any]


def _mark(view: _V, policy: ViewPolicy) -> _V:
    if isinstance(view, type):
        setattr(view, _ATTRIBUTE, policy)
        return view
    if not callable(view):
        raise TypeError(f"idempotency decorators apply to views, not {view!r}")
    target: Callable[..., Any] = view
    # A wrapper, not a mark on the view itself, so that one function routed twice with
    # different decorators keeps both (csrf_exempt does the same).
    wrapper: Callable[..., Any]
    if iscoroutinefunction(target):

        async def awaiting(*args: Any, **kwargs: Any) -> Any:
            return await target(*args, **kwargs)

        wrapper = awaiting
    else:

        def calling(*args: Any, **kwargs: Any) -> Any:
            return target(*args, **kwargs)

        wrapper = calling
    marked = functools.wraps(target)(wrapper)
    setattr(marked, _ATTRIBUTE, policy)
    return marked  # type: ignore[return-value]


def idempotency_exempt(view: _V) -> _V:
    """Never protect this view: its requests pass through untouched, key or no key."""
    return _mark(view, ViewPolicy(exempt=True, options={}))


@overload
def idempotency_required(view: _V, /) -> _V: ...


@overload
def idempotency_required(view: None = None, /, **options: Any) -> Callable[[_V], _V]: ...


def idempotency_required(view: Any = None, /, **options: Any) -> Any:
    """Protect this view and require a key: a POST or PATCH without one is answered 400
    ``key-missing`` (SEMANTICS 1).

    ``@idempotency_required`` alone, or with options that replace the settings for this
    view only (any of :data:`VIEW_OPTIONS`), such as an HTML form's
    ``@idempotency_required(key=FORM_KEY, in_flight="wait")``. A view's ``key`` or
    ``header`` replaces the key source of the settings. Wrong options raise
    :class:`~idempotency_middleware.errors.ConfigurationError` when the view is defined.
    """
    if "auto_window" in options:
        # A view that requires a key answers every keyless request 400: nothing to
        # de-duplicate, and silently ignoring the option would mislead.
        raise ConfigurationError(
            "idempotency_required does not take auto_window: a view that requires a key "
            "has no keyless requests to de-duplicate; set IDEMPOTENCY_AUTO_WINDOW for the site"
        )
    unknown = set(options) - VIEW_OPTIONS
    if unknown:
        raise ConfigurationError(
            f"idempotency_required does not take {', '.join(sorted(unknown))}: a view may "
            f"set {', '.join(sorted(VIEW_OPTIONS))}; the others are IDEMPOTENCY_* settings"
        )
    # Checked now, with a stand-in store, so a wrong value fails when the URLconf loads
    # (system checks load it too), not at the first request.
    Options.build(store=MemoryStore(), **options)
    policy = ViewPolicy(exempt=False, options=dict(options))
    if view is None:
        return functools.partial(_mark, policy=policy)
    return _mark(view, policy)


def policy_of(view: Callable[..., Any], method: str) -> ViewPolicy | None:
    """The policy that applies to ``method`` requests routed to ``view``, if any.

    The most specific mark wins: the handler of the method (a class-based view's
    ``post``, a viewset's ``create``), then the class, then the view function (which
    ``as_view`` gives the marks of ``dispatch``).
    """
    candidates: list[Any] = []
    cls = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if cls is not None:
        actions = getattr(view, "actions", None)  # DRF viewsets: {"post": "create", ...}
        handler = actions.get(method.lower()) if isinstance(actions, dict) else method.lower()
        if handler:
            candidates.append(getattr(cls, handler, None))
        candidates.append(cls)
    candidates.append(view)
    for candidate in candidates:
        policy = getattr(candidate, _ATTRIBUTE, None)
        if isinstance(policy, ViewPolicy):
            return policy
    return None
