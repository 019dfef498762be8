"""The Django settings of the middleware: flat ``IDEMPOTENCY_*`` names, read when used.

Each option of :meth:`Options.build <idempotency_middleware.options.Options.build>` is
the setting ``IDEMPOTENCY_<OPTION>`` (``IDEMPOTENCY_TTL``, ``IDEMPOTENCY_IN_FLIGHT``,
``IDEMPOTENCY_HEADER``, ...; :meth:`Options.names` lists them), with these additions:

``IDEMPOTENCY_STORE``
    Unset: Django's cache ``IDEMPOTENCY_CACHE`` (default ``"default"``) when every worker
    shares it and it claims atomically (Redis, Memcached); otherwise (``LocMemCache``,
    ``DummyCache``, ``FileBasedCache``, ``DatabaseCache``: startproject's default is the
    first) the project's database ``IDEMPOTENCY_DATABASE`` (default ``"default"``), whose
    table the store creates on first use when the app is not installed.
    ``"cache"``: that cache, whatever its backend. ``"database"``: that database, with
    ``"idempotency_middleware.django"`` installed and migrated. A URL
    (``"redis://..."``, ``"postgresql+psycopg://..."``) is given to
    :func:`~idempotency_middleware.stores.from_url`; a Store object is used as it is.
``IDEMPOTENCY_KEY``, ``IDEMPOTENCY_SCOPE``, ``IDEMPOTENCY_FINGERPRINT``
    A function of the neutral request, or its dotted path (``"shop.idempotency.key"``).
``IDEMPOTENCY_ON_OUTCOME``
    A function of an :class:`~idempotency_middleware.outcomes.OutcomeEvent`, called once
    per outcome (for metrics), or its dotted path.
``IDEMPOTENCY_TELEMETRY``
    ``True`` for OpenTelemetry spans and counters (:mod:`idempotency_middleware.otel`).
``IDEMPOTENCY_ENCRYPTION_KEYS``
    Keys that encrypt stored bodies, newest first, such as
    ``os.environ["IDEMPOTENCY_ENCRYPTION_KEYS"].split(",")``
    (:mod:`idempotency_middleware.encryption`).
    ``IDEMPOTENCY_KEY = FORM_KEY`` reads the input of ``{% idempotency_key_input %}``.
``IDEMPOTENCY_SECRET``
    The HMAC secret of lookup keys; ``SECRET_KEY`` by default. Set it if you rotate
    ``SECRET_KEY``: a new secret makes every stored key unknown.
``IDEMPOTENCY_MAX_REQUEST_BYTES``
    At most ``DATA_UPLOAD_MAX_MEMORY_SIZE``, Django's own limit on bodies in memory.

Compiled options are kept until a setting they read changes (``override_settings``
sends ``setting_changed``), so requests pay nothing to read them.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections
from django.utils.module_loading import import_string

from idempotency_middleware.django.cache_store import NOT_ATOMIC, NOT_SHARED, CacheStore
from idempotency_middleware.django.database_sql import SUPPORTED_VENDORS
from idempotency_middleware.django.database_store import DatabaseStore
from idempotency_middleware.django.decorators import ViewPolicy
from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.options import Options
from idempotency_middleware.overrides import EVERY_PATH, SETTING_PREFIX, overridden, setting_error
from idempotency_middleware.stores import Store, from_url
from idempotency_middleware.stores.memory import MemoryStore

__all__ = ["SettingError", "conf", "setting_name"]

APP = "idempotency_middleware.django"
PREFIX = SETTING_PREFIX
_READ_TOO = frozenset({"SECRET_KEY", "DATA_UPLOAD_MAX_MEMORY_SIZE"})
_DEFAULT_MAX_REQUEST_BYTES: int = (
    inspect.signature(Options.build).parameters["max_request_bytes"].default
)


class SettingError(ConfigurationError):
    """A setting is wrong; ``check_id`` is the id of the system check reporting it."""

    def __init__(self, message: str, check_id: str) -> None:
        super().__init__(message)
        self.check_id = check_id


def setting_name(option: str) -> str:
    """The Django setting of an option: ``in_flight`` is ``IDEMPOTENCY_IN_FLIGHT``."""
    return PREFIX + option.upper()


def cache_alias() -> str:
    """The cache of the cache store."""
    return str(getattr(settings, "IDEMPOTENCY_CACHE", "default"))


def database_alias() -> str:
    """The database of the database store."""
    return str(getattr(settings, "IDEMPOTENCY_DATABASE", "default"))


def _cache_is_fit() -> bool:
    """Every worker shares the cache and wins a key in it atomically."""
    backend = settings.CACHES[cache_alias()].get("BACKEND", "")
    return backend not in NOT_SHARED and backend not in NOT_ATOMIC


def _uses_the_cache(value: object) -> bool:
    return value == "cache" or (value is None and _cache_is_fit())


def check_store() -> None:
    """Raise :class:`SettingError` if ``IDEMPOTENCY_STORE`` and what it names are wrong,
    without connecting to anything."""
    value = getattr(settings, "IDEMPOTENCY_STORE", None)
    if value in (None, "cache") and cache_alias() not in settings.CACHES:
        raise SettingError(
            f"IDEMPOTENCY_CACHE = {cache_alias()!r} is not a cache in CACHES: name one, "
            "or set IDEMPOTENCY_STORE",
            "idempotency_middleware.E003",
        )
    if _uses_the_cache(value):
        return
    if value is None:
        backend = settings.CACHES[cache_alias()].get("BACKEND", "")
        _check_database(
            database_alias(),
            f"The cache {cache_alias()!r} ({backend}) cannot stop a duplicate sent to "
            "another worker, so the records go to the database, but ",
        )
    elif value == "database":
        if not apps.is_installed(APP):
            raise SettingError(
                f'IDEMPOTENCY_STORE = "database" needs "{APP}" in INSTALLED_APPS, and its '
                "migration applied (manage.py migrate)",
                "idempotency_middleware.E002",
            )
        _check_database(database_alias())
    elif not (isinstance(value, Store) or (isinstance(value, str) and "://" in value)):
        raise SettingError(
            f'IDEMPOTENCY_STORE must be "cache", "database", a store URL such as '
            f'"redis://127.0.0.1:6379/0", or a Store, not {value!r}',
            "idempotency_middleware.E005",
        )


def _check_database(alias: str, why: str = "") -> None:
    if alias not in settings.DATABASES:
        problem = "is not a database in DATABASES"
    elif connections[alias].vendor not in SUPPORTED_VENDORS:
        problem = f"is {connections[alias].vendor}, which the database store does not support"
    elif not connections[alias].settings_dict["AUTOCOMMIT"]:
        problem = "has AUTOCOMMIT off, so a claim would not commit before the view runs"
    else:
        return
    fix = ": set IDEMPOTENCY_STORE to a redis:// URL, or give CACHES a Redis cache" if why else ""
    raise SettingError(
        f"{why}IDEMPOTENCY_DATABASE = {alias!r} {problem}; the database store runs on "
        f"PostgreSQL, MySQL, MariaDB or SQLite in autocommit{fix}",
        "idempotency_middleware.E004",
    )


def _build_store() -> tuple[Store, bool]:
    """The store the settings name, and whether it is ours to close."""
    check_store()
    value = getattr(settings, "IDEMPOTENCY_STORE", None)
    if _uses_the_cache(value):
        return CacheStore(cache_alias()), False
    if value in (None, "database"):
        # Without the app, migrate does not know the table: the store makes it.
        return DatabaseStore(database_alias(), create_table=not apps.is_installed(APP)), False
    if isinstance(value, Store):
        return value, False
    try:
        return from_url(value), True
    except ConfigurationError as exc:
        raise SettingError(f"IDEMPOTENCY_STORE: {exc}", "idempotency_middleware.E005") from exc


def _imported(option: str, value: Any) -> Any:
    if not isinstance(value, str) or "." not in value:
        return value
    try:
        return import_string(value)
    except ImportError as exc:
        raise SettingError(
            f"{setting_name(option)}: cannot import {value!r} ({exc})",
            "idempotency_middleware.E001",
        ) from exc


def _setting_options() -> dict[str, Any]:
    options = {
        name: getattr(settings, setting_name(name))
        for name in Options.names()
        if name != "store" and hasattr(settings, setting_name(name))
    }
    for name in ("key", "scope", "fingerprint", "on_outcome"):
        if name in options:
            options[name] = _imported(name, options[name])
    if "secret" not in options:
        try:
            options["secret"] = settings.SECRET_KEY or None
        except ImproperlyConfigured:  # an empty SECRET_KEY: plain SHA-256 lookup keys
            options["secret"] = None
    return options


def _compile(base: dict[str, Any], store: Store, policy: ViewPolicy | None) -> Options:
    options = dict(base)
    if policy is not None:
        options = overridden(base, policy.options, required=EVERY_PATH, exclude=())
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    wanted = options.get("max_request_bytes", _DEFAULT_MAX_REQUEST_BYTES)
    if limit is not None and isinstance(wanted, int) and wanted > limit:
        options["max_request_bytes"] = limit
    try:
        return Options.build(store=store, **options)
    except SettingError:
        raise
    except ConfigurationError as exc:
        message = setting_error(str(exc), Options.names())
        raise SettingError(message, "idempotency_middleware.E001") from exc


class _Conf:
    """The compiled options, for the settings and for each decorated view."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._store: Store | None = None
        self._owned = False
        self._base: dict[str, Any] | None = None
        self._compiled: dict[ViewPolicy | None, Options] = {}

    def options(self, policy: ViewPolicy | None = None) -> Options:
        """The options of the settings, or of a view with ``policy``; raises
        :class:`SettingError` for a wrong setting."""
        compiled = self._compiled.get(policy)
        if compiled is not None:
            return compiled
        with self._lock:
            if self._store is None:
                self._store, self._owned = _build_store()
            if self._base is None:
                self._base = _setting_options()
            compiled = self._compiled[policy] = _compile(self._base, self._store, policy)
            return compiled

    def problems(self) -> list[SettingError]:
        """Every wrong setting, found without building the store (which may connect)."""
        found = []
        for check in (check_store, lambda: _compile(_setting_options(), MemoryStore(), None)):
            try:
                check()
            except SettingError as exc:
                found.append(exc)
        return found

    def reset(self) -> None:
        """Forget the compiled options; a store built from a URL is closed."""
        with self._lock:
            if self._owned and self._store is not None:
                self._store.close()
            self._store, self._owned, self._base = None, False, None
            self._compiled = {}


conf = _Conf()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(PREFIX) or setting in _READ_TOO:
        conf.reset()


setting_changed.connect(_setting_changed, dispatch_uid="idempotency_middleware.django.conf")
