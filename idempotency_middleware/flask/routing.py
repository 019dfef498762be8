"""Which options a Flask request runs under, decided before the view runs.

The extension wraps ``app.wsgi_app`` with the generic WSGI flow. Before it, the request
is matched against the app's URL map, exactly as Flask will match it, so views and
blueprints marked with ``exempt``, ``required`` or ``protect`` get their own options.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.flask.forms import DEFAULT_FIELD
from idempotency_middleware.keys import from_form
from idempotency_middleware.options import APP_WIDE, Options
from idempotency_middleware.overrides import EVERY_PATH, overridden
from idempotency_middleware.stores.memory import MemoryStore
from idempotency_middleware.wsgi.middleware import protect

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["FlaskMiddleware", "Policies", "Policy", "Target", "check_overrides"]

Target = TypeVar("Target", bound="Callable[..., Any] | Blueprint")

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def check_overrides(options: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigurationError` for options a view cannot set, or set wrong."""
    unknown = set(options) - set(Options.names())
    if unknown:
        raise ConfigurationError(f"protect() got unknown options: {', '.join(sorted(unknown))}")
    app_wide = set(options) & APP_WIDE
    if app_wide:
        raise ConfigurationError(
            f"protect() cannot set {', '.join(sorted(app_wide))}: set them app-wide as "
            "IDEMPOTENCY_* config keys"
        )
    Options.build(store=MemoryStore(), **options)


@dataclass(frozen=True)
class Policy:
    """How a view or blueprint is covered: not at all, with a required key, and with
    which options of its own."""

    exempt: bool = False
    required: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


_DEFAULT = Policy()


def _view_name(view: Callable[..., Any]) -> str:
    # The name survives decorators written with functools.wraps, in whatever order
    # they are stacked with the route; Flask's as_view() names its function after the
    # endpoint.
    return f"{view.__module__}.{view.__name__}"


class Policies:
    """The views and blueprints an :class:`~idempotency_middleware.flask.Idempotency`
    marked, shared by every app it is registered on."""

    def __init__(self) -> None:
        self._views: dict[str, Policy] = {}
        self._blueprints: dict[str, Policy] = {}

    def mark(self, target: Callable[..., Any] | Blueprint, **changes: Any) -> None:
        """Record ``changes`` for ``target``, merged with what it already had."""
        if isinstance(target, Blueprint):
            registry, name = self._blueprints, target.name
        elif callable(target):
            registry, name = self._views, _view_name(target)
        else:
            raise ConfigurationError(f"expected a view function or a Blueprint, not {target!r}")
        old = registry.get(name, _DEFAULT)
        new = Policy(
            exempt=changes.get("exempt", old.exempt),
            required=changes.get("required", old.required),
            options={**old.options, **changes.get("options", {})},
        )
        if new.exempt and (new.required or new.options):
            raise ConfigurationError(
                f"{name} is marked exempt and also required or protected; choose one"
            )
        registry[name] = new

    def resolve(self, app: Flask, endpoint: str | None) -> Policy:
        """The policy of the most specific marked target: the view, then its
        blueprints from the innermost out, else the app's defaults."""
        if endpoint is None:
            return _DEFAULT
        view = app.view_functions.get(endpoint)
        if view is not None and _view_name(view) in self._views:
            return self._views[_view_name(view)]
        chain = endpoint.split(".")[:-1]
        for depth in range(len(chain), 0, -1):
            # A nested blueprint is registered as "parent.child" but named "child".
            for name in (".".join(chain[:depth]), chain[depth - 1]):
                if name in self._blueprints:
                    return self._blueprints[name]
        return _DEFAULT


def rule_of(app: Flask, environ: WSGIEnvironment) -> Rule | None:
    """The URL rule Flask will dispatch the request to, or None (404, 405, redirect)."""
    request = app.request_class(environ, populate_request=False, shallow=True)
    try:
        adapter = app.create_url_adapter(request)
        if adapter is None:
            return None
        rule, _ = adapter.match(return_rule=True)
    except HTTPException:
        return None
    return rule


def flask_login_user(app: Flask, environ: WSGIEnvironment) -> str | None:
    """Flask-Login's ``current_user`` id when the app uses Flask-Login and the user is
    authenticated.

    ``current_user`` needs a request context; this one is pushed on a copy of the
    environ, with a fresh app context (so ``g`` is not shared with the real request),
    and popped before the view runs: the user loader runs twice for such requests.
    """
    if getattr(app, "login_manager", None) is None:
        return None
    current_user = importlib.import_module("flask_login").current_user
    stream = environ["wsgi.input"]
    body = stream.getvalue() if isinstance(stream, io.BytesIO) else b""
    with app.app_context(), app.request_context({**environ, "wsgi.input": io.BytesIO(body)}):
        if not current_user.is_authenticated:
            return None
        identity = current_user.get_id()
    return None if identity is None else str(identity)


class FlaskMiddleware:
    """``app.wsgi_app`` behind the WSGI flow, under the options of the matched view."""

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        app: Flask,
        policies: Policies,
        options: Options,
        settings: Mapping[str, Any],
    ) -> None:
        self.wsgi_app = wsgi_app
        self.app = app
        self.options = options
        self._policies = policies
        self._settings = dict(settings)
        self._built: dict[tuple[int, bool], tuple[Policy, Options]] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ["REQUEST_METHOD"]).upper() not in self.options.methods:
            return self.wsgi_app(environ, start_response)
        rule = rule_of(self.app, environ)
        policy = self._policies.resolve(self.app, None if rule is None else str(rule.endpoint))
        if policy.exempt:
            return self.wsgi_app(environ, start_response)
        return protect(
            self.wsgi_app,
            self.options_for(policy, form=self._keyed_by_form(policy, environ)),
            environ,
            start_response,
            principal=lambda env: flask_login_user(self.app, env),
            route=None if rule is None else rule.rule,
        )

    def _keyed_by_form(self, policy: Policy, environ: WSGIEnvironment) -> bool:
        # With no key source configured, app-wide or on the view, a form post without
        # the header is keyed by the hidden input idempotency_key_input() renders.
        if "key" in policy.options or "header" in policy.options:
            return False
        if self._settings["key"] is not None or self._settings["header"] is not None:
            return False
        content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        return content_type in _FORMS and "HTTP_IDEMPOTENCY_KEY" not in environ

    def options_for(self, policy: Policy, *, form: bool = False) -> Options:
        """The options of views under ``policy`` (built once); with ``form``, those of a
        form post keyed by its hidden input."""
        if policy is _DEFAULT and not form:
            return self.options
        built = self._built.get((id(policy), form))
        if built is None:
            settings = dict(self._settings)
            if form:
                # A browser shows the answer to the last click: duplicates wait for the
                # first click's page, where a 409 would be an error page.
                settings.update(key=from_form(DEFAULT_FIELD), in_flight="wait")
            if policy is not _DEFAULT:
                # A decorated view is covered whatever the app's path templates say.
                settings = overridden(
                    settings,
                    policy.options,
                    include=(),
                    exclude=(),
                    required=EVERY_PATH if policy.required else (),
                )
            # check_overrides validated the view's options when it was decorated.
            built = self._built[id(policy), form] = (policy, Options.build(**settings))
        return built[1]
