"""The middleware's options, checked once at start-up.

The same names serve every adapter: keyword arguments of the ASGI middleware, and
``IDEMPOTENCY_<NAME>`` settings in Django and Flask.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from idempotency_middleware.error_shapes import ErrorRenderer, ErrorShape
from idempotency_middleware.error_shapes import error_format as checked_error_format
from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.fingerprint import (
    FingerprintFunction,
    RequestFingerprint,
    digested,
    key_only,
)
from idempotency_middleware.keys import DEFAULT_MAX_KEY_LENGTH, KeySource, from_header
from idempotency_middleware.overrides import overridden
from idempotency_middleware.owners import new_owner
from idempotency_middleware.problems import PROBLEM_BASE_URI, ErrorFormat
from idempotency_middleware.problems import problem_base_uri as checked_base_uri
from idempotency_middleware.replay import DEFAULT_NOT_STORED
from idempotency_middleware.request import Request
from idempotency_middleware.routes import PathTable, PathTemplates
from idempotency_middleware.scope import ScopeFunction, checked_scope, default_scope
from idempotency_middleware.window import checked_window
from idempotency_middleware.wiring import wire

if TYPE_CHECKING:
    from idempotency_middleware.outcomes import OutcomeCallback
    from idempotency_middleware.stores.base import Store

__all__ = ["APP_WIDE", "InFlight", "OnStoreError", "Options"]

InFlight = Literal["reject", "wait"]
OnStoreError = Literal["fail_closed", "fail_open"]

_T = TypeVar("_T")

APP_WIDE = frozenset(
    {
        "store",
        "secret",
        "encryption_keys",
        "telemetry",
        "methods",
        "include",
        "required",
        "exclude",
        "problem_base_uri",
    }
)
"""Options that hold for a whole app: a route (or a view) sets any of the others. One
store, secret and keyring serve the operations commands too, path templates are what
routes and decorators replace, and the app's methods decide which requests are matched.
The problem pages are the app's, wherever they are served."""


def _positive(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigurationError(
            f"{name} must be a positive number of seconds or bytes, not {value!r}"
        )
    return float(value)


def _reusable(values: Iterable[_T]) -> Iterable[_T]:
    return tuple(values) if isinstance(values, Iterator) else values


def _fingerprint(value: Any, headers: Iterable[str]) -> FingerprintFunction:
    if value is None:
        return RequestFingerprint(headers=headers)
    if value == "json":
        return RequestFingerprint(headers=headers, canonical_json=True)
    if value == "key-only" or value is key_only:
        return key_only
    if type(value) is RequestFingerprint:
        return value
    if callable(value):
        return digested(value)
    raise ConfigurationError(
        f"fingerprint must be None, 'json', 'key-only' or a function of the request, not {value!r}"
    )


def _key_source(header: str | None, key: Any, max_key_length: int) -> KeySource:
    if header is not None and key is not None:
        raise ConfigurationError(
            "give either header= or key=, not both: only one key source is active per route"
        )
    if key is None:
        return from_header(header or "Idempotency-Key", max_length=max_key_length)
    if isinstance(key, str) or not callable(key):
        raise ConfigurationError(
            f"key must be a key source, not {key!r}: use keys.from_header('X-Delivery-Id'), "
            "keys.from_json('/id'), keys.from_form('idempotency_key') or a function of the request"
        )
    return key  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Options:
    """Every option, validated. Build with :meth:`build`, which raises
    :class:`~idempotency_middleware.errors.ConfigurationError` naming the bad option."""

    store: Store
    key: KeySource
    methods: frozenset[str]
    ttl: float
    lease: float
    in_flight: InFlight
    wait_timeout: float
    max_request_bytes: int
    max_response_bytes: int
    on_store_error: OnStoreError
    scope: Callable[[Request], str]
    fingerprint: FingerprintFunction
    include: PathTemplates
    required: PathTemplates
    exclude: PathTemplates
    secret: bytes | None
    not_stored: frozenset[int]
    error_format: ErrorFormat | ErrorShape = "problem"
    """How the middleware's own answers are rendered: RFC 9457 ``"problem"``,
    ``"stripe"`` for clients built on a Stripe SDK, or an application's own
    :class:`~idempotency_middleware.error_shapes.ErrorShape`."""
    store_validation_errors: bool = False
    """Store the answers to requests the framework rejected before the handler ran."""
    new_owner: Callable[[], str] = new_owner
    routes: PathTable[Options] | None = None
    listeners: tuple[OutcomeCallback, ...] = ()
    """Called with each outcome: ``on_outcome`` and OpenTelemetry, each guarded."""
    encrypted: bool = False
    """True when ``encryption_keys`` lists keys: stored bodies are decrypted, and an
    encrypted body is refused where it is False."""
    problem_base_uri: str = PROBLEM_BASE_URI
    """What the ``type`` URI of each problem answer starts with."""
    auto_window: float | None = None
    """Seconds within which identical keyless writes of one caller are answered with
    the first one's result; None (the default) lets keyless requests run."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The option names :meth:`build` takes; Django and Flask read each as an
        ``IDEMPOTENCY_<NAME>`` setting. ``routes`` is not one: Django and Flask set
        options per view, with their decorators."""
        return tuple(name for name in inspect.signature(cls.build).parameters if name != "routes")

    def for_path(self, path: str) -> Options:
        """The options of the first template of ``routes`` that ``path`` matches, else
        these options."""
        if self.routes is None:
            return self
        return self.routes.lookup(path) or self

    @property
    def key_needs_body(self) -> bool:
        """True when the key is read from the body (JSON pointer, form field, function)."""
        return bool(getattr(self.key, "needs_body", True))

    def route_of(self, path: str) -> str:
        """The ``required`` or ``include`` template ``path`` matches, else the path."""
        return self.required.template_of(path) or self.include.template_of(path) or path

    @classmethod
    def build(
        cls,
        *,
        store: Store | None = None,
        header: str | None = None,
        key: Any = None,
        methods: Iterable[str] = ("POST", "PATCH"),
        ttl: float = 86_400,
        lease: float = 60,
        in_flight: str = "reject",
        wait_timeout: float = 30,
        max_request_bytes: int = 10 * 2**20,
        max_response_bytes: int = 2**20,
        on_store_error: str = "fail_closed",
        scope: ScopeFunction | None = None,
        fingerprint: Any = None,
        fingerprint_headers: Iterable[str] = (),
        include: Iterable[str] = (),
        required: Iterable[str] = (),
        exclude: Iterable[str] = (),
        secret: str | bytes | None = None,
        max_key_length: int = DEFAULT_MAX_KEY_LENGTH,
        not_stored: Iterable[int] = DEFAULT_NOT_STORED,
        store_validation_errors: bool = False,
        routes: Mapping[str, Mapping[str, Any]] | None = None,
        on_outcome: OutcomeCallback | None = None,
        telemetry: Any = False,
        encryption_keys: Iterable[str | bytes] = (),
        error_format: str | ErrorRenderer | ErrorShape = "problem",
        problem_base_uri: str = PROBLEM_BASE_URI,
        auto_window: float | None = None,
    ) -> Options:
        """Check every option and return the compiled :class:`Options`.

        ``routes`` maps path templates to the options of the requests they match, such
        as ``{"/webhooks/{id}": {"ttl": 259200, "in_flight": "wait"}}``: any option but
        those of :data:`APP_WIDE`, over these. A route's ``key`` or ``header`` replaces
        the key source, and a route is covered even where ``include`` does not list it.

        ``store_validation_errors``: False (the default) releases the key when the
        framework rejected the request before its handler ran (FastAPI's request
        validation 422, Django REST framework's ``ValidationError`` and ``ParseError``
        400), as Stripe does, so the corrected retry with the same key runs; True stores
        and replays those answers like any other.

        ``auto_window``: seconds within which a covered request that brought no key is
        answered with the result of an identical earlier one from the same caller (its
        key made from the fingerprint); off (None) by default. De-duplication only: a
        repeat after the window runs again.
        """
        # Each route's options are built again from these arguments, with the route's
        # own over them: taken before the checks below rebind any, with iterators (read
        # once) kept as tuples.
        methods, include, required, exclude = map(_reusable, (methods, include, required, exclude))
        fingerprint_headers, not_stored = _reusable(fingerprint_headers), _reusable(not_stored)
        arguments = {
            name: value for name, value in locals().items() if name not in ("cls", "routes")
        }
        if in_flight not in ("reject", "wait"):
            raise ConfigurationError(f"in_flight must be 'reject' or 'wait', not {in_flight!r}")
        if on_store_error not in ("fail_closed", "fail_open"):
            raise ConfigurationError(
                f"on_store_error must be 'fail_closed' or 'fail_open', not {on_store_error!r}"
            )
        if isinstance(methods, str):
            raise ConfigurationError(
                f"methods must be a list of methods, such as ['POST'], not {methods!r}"
            )
        if scope is not None and not callable(scope):
            raise ConfigurationError(f"scope must be a function of the request, not {scope!r}")
        if isinstance(fingerprint_headers, str):
            raise ConfigurationError(
                "fingerprint_headers must be a list of header names, such as "
                f"[{fingerprint_headers!r}], not a string"
            )
        if not isinstance(store_validation_errors, bool):
            raise ConfigurationError(
                f"store_validation_errors must be True or False, not {store_validation_errors!r}"
            )
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is not None and (not isinstance(secret, bytes) or not secret):
            raise ConfigurationError(
                f"secret must be a non-empty str or bytes, not {secret!r}; "
                "leave it unset to use plain SHA-256"
            )
        if auto_window is not None:
            auto_window = checked_window(_positive("auto_window", auto_window), fingerprint)
        wired = wire(store, encryption_keys, telemetry, on_outcome)
        options = cls(
            store=wired.store,
            key=_key_source(header, key, int(_positive("max_key_length", max_key_length))),
            methods=frozenset(m.upper() for m in methods),
            ttl=_positive("ttl", ttl),
            lease=_positive("lease", lease),
            in_flight=in_flight,  # type: ignore[arg-type]
            wait_timeout=_positive("wait_timeout", wait_timeout),
            max_request_bytes=int(_positive("max_request_bytes", max_request_bytes)),
            max_response_bytes=int(_positive("max_response_bytes", max_response_bytes)),
            on_store_error=on_store_error,  # type: ignore[arg-type]
            scope=default_scope if scope is None else checked_scope(scope),
            fingerprint=_fingerprint(fingerprint, fingerprint_headers),
            include=PathTemplates(include, option="include"),
            required=PathTemplates(required, option="required"),
            exclude=PathTemplates(exclude, option="exclude"),
            secret=secret,
            not_stored=frozenset(not_stored),
            error_format=checked_error_format(error_format),
            store_validation_errors=store_validation_errors,
            listeners=wired.listeners,
            encrypted=wired.encrypted,
            problem_base_uri=checked_base_uri(problem_base_uri),
            auto_window=auto_window,
        )
        if not routes:
            return options
        if not isinstance(routes, Mapping):
            raise ConfigurationError(
                "routes must be a dict of path templates to options, such as "
                f"{{'/webhooks/{{id}}': {{'ttl': 259200}}}}, not {routes!r}"
            )
        table = PathTable(
            {
                template: _route(template, changes, arguments)
                for template, changes in routes.items()
            },
            option="routes",
        )
        return replace(options, routes=table)


def _route(template: str, changes: Any, arguments: dict[str, Any]) -> Options:
    where = f"routes[{template!r}]"
    if not isinstance(changes, Mapping):
        raise ConfigurationError(
            f"{where} must be a dict of options, such as {{'ttl': 259200}}, not {changes!r}"
        )
    route_wide = sorted(set(Options.names()) - APP_WIDE)
    wrong = sorted(set(changes) - set(route_wide))
    if wrong:
        raise ConfigurationError(
            f"{where} cannot set {', '.join(wrong)}: a route sets {', '.join(route_wide)}; "
            "the others hold for the whole app"
        )
    merged = overridden(arguments, changes)
    if merged["include"]:
        merged["include"] = (*merged["include"], template)
    try:
        return Options.build(**merged)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc}") from exc
