"""The Flask extension: ``Idempotency(app)`` or ``Idempotency().init_app(app)``."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask, appcontext_pushed, current_app

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.flask.autogenerate import exclude_from_autogenerate
from idempotency_middleware.flask.cli import idempotency_cli
from idempotency_middleware.flask.forms import idempotency_key_input
from idempotency_middleware.flask.routing import FlaskMiddleware, Policies, Target, check_overrides
from idempotency_middleware.flask.settings import (
    PREFIX,
    TableSource,
    build_options,
    config_defaults,
    default_store,
    register,
    table_source,
)
from idempotency_middleware.options import Options
from idempotency_middleware.stores.base import Store

__all__ = ["Idempotency"]


@dataclass(frozen=True)
class _AppState:
    middleware: FlaskMiddleware
    table: TableSource | None
    """The default store's table; None when ``IDEMPOTENCY_STORE`` was given."""


class Idempotency:
    """Exactly-once POST and PATCH for a Flask app (SEMANTICS sections 1 to 7).

    ``Idempotency(app)``, or ``ext = Idempotency()`` then ``ext.init_app(app)`` in an
    app factory. Every POST and PATCH carrying an ``Idempotency-Key`` runs once; its
    repeats get the stored response. Mark views and blueprints with :meth:`exempt`,
    :meth:`required` and :meth:`protect`.

    Config keys, each read once by :meth:`init_app` (a wrong one raises
    :class:`~idempotency_middleware.errors.ConfigurationError` there, as does a key with
    the ``IDEMPOTENCY_`` prefix that is none of these). The first group are the options
    of :meth:`Options.build <idempotency_middleware.options.Options.build>`:

    - ``IDEMPOTENCY_STORE``: a :class:`~idempotency_middleware.stores.Store`; unset, the
      default SQL store below.
    - ``IDEMPOTENCY_HEADER``: the key's header (``Idempotency-Key``).
    - ``IDEMPOTENCY_KEY``: another key source, such as
      ``keys.from_form("token")``; not with ``IDEMPOTENCY_HEADER``. With neither set, a
      form post without the header is keyed by its ``idempotency_key`` field (what
      ``idempotency_key_input()`` renders), and waits for a running duplicate.
    - ``IDEMPOTENCY_METHODS``: the methods covered (``("POST", "PATCH")``).
    - ``IDEMPOTENCY_TTL``: seconds a completed record is kept (86400).
    - ``IDEMPOTENCY_LEASE``: seconds a claim outlives a dead worker (60).
    - ``IDEMPOTENCY_IN_FLIGHT``: ``"reject"`` (409) or ``"wait"`` for a duplicate of a
      running request. Use ``"wait"`` for HTML forms: a browser shows the answer to the
      last of several clicks, and a 409 would be an error page.
    - ``IDEMPOTENCY_WAIT_TIMEOUT``: the most seconds a duplicate waits (30).
    - ``IDEMPOTENCY_MAX_REQUEST_BYTES``: the largest body read (10 MiB; over: 413).
    - ``IDEMPOTENCY_MAX_RESPONSE_BYTES``: the largest body stored (1 MiB).
    - ``IDEMPOTENCY_ON_STORE_ERROR``: ``"fail_closed"`` (503) or ``"fail_open"``.
    - ``IDEMPOTENCY_SCOPE``: a function of the request naming whose key it is; by
      default Flask-Login's ``current_user`` id when one is logged in, else a digest of
      ``Authorization``.
    - ``IDEMPOTENCY_FINGERPRINT``: ``None``, ``"json"``, ``"key-only"`` or a function.
    - ``IDEMPOTENCY_FINGERPRINT_HEADERS``: headers that belong to the fingerprint.
    - ``IDEMPOTENCY_INCLUDE``, ``IDEMPOTENCY_REQUIRED``, ``IDEMPOTENCY_EXCLUDE``: path
      templates such as ``/orders/{id}``; the decorators are the Flask way.
    - ``IDEMPOTENCY_SECRET``: the HMAC secret of lookup keys; unset, plain SHA-256.
      Not ``SECRET_KEY`` by default: apps that draw it at random per process would
      give each worker its own lookup keys, and duplicates would run once per worker.
    - ``IDEMPOTENCY_MAX_KEY_LENGTH``: the longest key (255).
    - ``IDEMPOTENCY_NOT_STORED``: statuses below 500 that release the key.
    - ``IDEMPOTENCY_STORE_VALIDATION_ERRORS``: ``False``; Flask has no request
      validation of its own, so every answer of a handler that ran is stored.
    - ``IDEMPOTENCY_ON_OUTCOME``: a function called with each
      :class:`~idempotency_middleware.outcomes.OutcomeEvent`, for metrics.
    - ``IDEMPOTENCY_TELEMETRY``: ``True`` for OpenTelemetry spans and counters
      (:mod:`idempotency_middleware.otel`).
    - ``IDEMPOTENCY_ENCRYPTION_KEYS``: keys that encrypt stored bodies, newest first
      (:mod:`idempotency_middleware.encryption`).
    - ``IDEMPOTENCY_ERROR_FORMAT``: ``"problem"`` (RFC 9457), ``"stripe"``, the shape
      of Stripe's API errors for clients built on a Stripe SDK, or a callable
      (:mod:`idempotency_middleware.error_shapes`).
    - ``IDEMPOTENCY_PROBLEM_BASE_URI``: what the ``type`` URI of each problem answer
      starts with (the docs site's problem pages).
    - ``IDEMPOTENCY_AUTO_WINDOW``: seconds within which identical keyless writes of one
      caller get the first one's answer (off by default; per view with
      ``@ext.protect(auto_window=...)``); de-duplication, not a retry guarantee.

    The default store is a :class:`~idempotency_middleware.stores.SQLAlchemyStore` on:

    - ``IDEMPOTENCY_DATABASE_URI`` if set; else Flask-SQLAlchemy's engine when
      ``db.init_app(app)`` came first; else ``SQLALCHEMY_DATABASE_URI``; else a SQLite
      file ``idempotency.db`` in the app's instance folder.
    - ``IDEMPOTENCY_TABLE_NAME`` (``idempotency_records``), ``IDEMPOTENCY_TABLE_SCHEMA``.
    - ``IDEMPOTENCY_CREATE_TABLE``: create the table at start-up if missing; by default
      unless :meth:`register_table` handed it to Alembic (``flask idempotency init``
      creates it on demand). Not handed over, the table is left out of Flask-Migrate's
      autogenerate, so ``flask db migrate`` never writes a migration that drops it.

    Design: the extension wraps ``app.wsgi_app`` rather than hooking into
    ``before_request``/``after_request``. Only there is the response seen as the
    server gets it, so the record completes before its last byte is handed over and a
    replay bypasses every hook that would add to it (session cookies, after-request
    headers), while a streamed response is captured as it flows. The endpoint is
    matched on the app's URL map before the view runs, so marks on views and
    blueprints apply. It also registers ``flask idempotency`` commands and the Jinja
    global ``idempotency_key_input()``, and sets ``app.extensions["idempotency"]``.
    """

    def __init__(self, app: Flask | None = None, *, metadata: sa.MetaData | None = None) -> None:
        self._policies = Policies()
        self._apps: weakref.WeakKeyDictionary[Flask, _AppState] = weakref.WeakKeyDictionary()
        self._metadata = metadata
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the config and protect ``app``."""
        if "idempotency" in app.extensions:
            raise ConfigurationError(
                "Idempotency is already registered on this app; call init_app once per app"
            )
        for key, value in config_defaults().items():
            app.config.setdefault(key, value)
        store: Store | None = app.config[PREFIX + "STORE"]
        table = None
        if store is None:
            table = table_source(app)
            if self._metadata is not None:
                register(self._metadata, table)
            store = default_store(app, table, managed_elsewhere=self._metadata is not None)
        try:
            options, settings = build_options(app.config, store)
        except ConfigurationError:
            if table is not None:
                store.close()
            raise
        middleware = FlaskMiddleware(app.wsgi_app, app, self._policies, options, settings)
        app.wsgi_app = middleware  # type: ignore[method-assign]
        self._apps[app] = _AppState(middleware, table)
        app.extensions["idempotency"] = self
        app.add_template_global(idempotency_key_input)
        app.cli.add_command(idempotency_cli)
        if (
            table is not None
            and self._metadata is None
            and not exclude_from_autogenerate(app, table)
        ):
            # Migrate(app, db) may come after this call; every ``flask db`` command
            # pushes an app context once the app is built, before Alembic runs. The
            # handler lets go once the filter is in, so requests stop paying for it.
            appcontext_pushed.connect(self._exclude_from_autogenerate, app)

    def _exclude_from_autogenerate(self, app: Flask, **_: Any) -> None:
        state = self._apps.get(app)
        if state is None or state.table is None:
            return
        if exclude_from_autogenerate(app, state.table):
            appcontext_pushed.disconnect(self._exclude_from_autogenerate, app)

    def register_table(self, metadata: sa.MetaData) -> None:
        """Define the records table on ``metadata`` (such as Flask-SQLAlchemy's
        ``db.metadata``) for every app initialised after this call, so that Flask-Migrate
        and Alembic autogenerate its migration; the store then leaves creating it to
        them. Same as ``Idempotency(metadata=...)``."""
        if self._apps:
            raise ConfigurationError(
                "register_table() must come before init_app(): the app's store has "
                "already created its table"
            )
        self._metadata = metadata

    def exempt(self, target: Target) -> Target:
        """Decorator: requests to this view, or to every view of this blueprint, are
        never protected (``ext.exempt(blueprint)`` for a blueprint)."""
        self._policies.mark(target, exempt=True)
        return target

    def required(self, target: Target) -> Target:
        """Decorator: this view (or blueprint) answers a POST or PATCH without a key
        with 400 ``key-missing``."""
        self._policies.mark(target, required=True)
        return target

    def protect(self, **options: Any) -> Callable[[Target], Target]:
        """Decorator: this view (or blueprint) runs under its own ``options`` (``key``,
        ``in_flight``, ``ttl``, ...); checked here, at import time. For a form:
        ``@ext.protect(key=keys.from_form("idempotency_key"), in_flight="wait")``."""
        check_overrides(options)

        def mark(target: Target) -> Target:
            self._policies.mark(target, options=options)
            return target

        return mark

    def _state(self, app: Flask | None) -> _AppState:
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        state = self._apps.get(app)
        if state is None:
            raise ConfigurationError("Idempotency is not registered on this app: call init_app")
        return state

    def get_options(self, app: Flask | None = None) -> Options:
        """The app-wide options of ``app`` (the current app by default)."""
        return self._state(app).middleware.options

    def get_store(self, app: Flask | None = None) -> Store:
        """The store of ``app`` (the current app by default)."""
        return self.get_options(app).store

    def create_table(self, app: Flask | None = None) -> bool:
        """Create the SQL table of the store if missing; False when the store keeps no
        table (memory, Redis)."""
        state = self._state(app)
        if state.table is not None:
            state.table.store(create_table=True).close()
            return True
        store = state.middleware.options.store
        create = getattr(store, "create_table", None)
        if create is None:
            return False
        create()
        return True

    def close(self, app: Flask | None = None) -> None:
        """Release the connections of the default store (a given store is the caller's)."""
        state = self._state(app)
        if state.table is not None:
            state.middleware.options.store.close()
