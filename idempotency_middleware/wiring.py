"""What the app-wide options plug in: the store, wrapped for encryption and telemetry,
and the listeners of each outcome.

:meth:`Options.build <idempotency_middleware.options.Options.build>` calls :func:`wire`
once; the policy it checks stays in :mod:`idempotency_middleware.options`. The modules
of encryption and telemetry, and with them ``cryptography`` and OpenTelemetry, are
imported only when those options are on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.outcomes import OutcomeCallback, OutcomeEvent
from idempotency_middleware.stores.base import Store

if TYPE_CHECKING:
    from idempotency_middleware.otel import Telemetry

__all__ = ["Wired", "guarded", "wire"]

_logger = logging.getLogger("idempotency_middleware")

_STORE_CHOICES = (
    "pass store=: MemoryStore() for tests and a single process, "
    'SQLAlchemyStore("sqlite:///idempotency.db") for one machine, '
    'SQLAlchemyStore("postgresql+psycopg://...") or a MySQL URL when workers share a database '
    "(all in idempotency_middleware.stores)"
)


@dataclass(frozen=True)
class Wired:
    """The store the middleware uses and who hears of each outcome."""

    store: Store
    listeners: tuple[OutcomeCallback, ...]
    encrypted: bool
    """True when ``encryption_keys`` listed keys."""


def wire(store: Any, encryption_keys: Any, telemetry: Any, on_outcome: Any) -> Wired:
    """Check the app-wide plug-ins and build what they stand for."""
    if store is None:
        raise ConfigurationError(f"store is required: {_STORE_CHOICES}")
    if not isinstance(store, Store):
        raise ConfigurationError(f"store must be a Store, not {store!r}: {_STORE_CHOICES}")
    listeners: list[OutcomeCallback] = []
    if on_outcome is not None:
        if not callable(on_outcome):
            raise ConfigurationError(
                "on_outcome must be a function that takes an "
                f"idempotency_middleware.outcomes.OutcomeEvent, or None, not {on_outcome!r}"
            )
        listeners.append(guarded(on_outcome, "on_outcome"))
    wrapped = _encrypted(store, encryption_keys)
    encrypted = wrapped is not store
    instruments = _telemetry(telemetry)
    if instruments is not None:
        wrapped = instruments.traced(wrapped)
        listeners.append(guarded(instruments.record, "telemetry"))
    return Wired(wrapped, tuple(listeners), encrypted)


def _telemetry(value: Any) -> Telemetry | None:
    """The :class:`~idempotency_middleware.otel.Telemetry` of ``telemetry``, or None.

    Its module, and with it OpenTelemetry, is imported only when telemetry is on.
    """
    if value is False or value is None:
        return None
    try:
        from idempotency_middleware.otel import Telemetry
    except ImportError as exc:
        raise ConfigurationError(
            "telemetry needs the OpenTelemetry API: pip install 'idempotency-middleware[otel]'"
        ) from exc
    if value is True:
        return Telemetry()
    if isinstance(value, Telemetry):
        return value
    raise ConfigurationError(
        "telemetry must be True (the global OpenTelemetry providers), False, or an "
        f"idempotency_middleware.otel.Telemetry, not {value!r}"
    )


def _encrypted(store: Store, keys: Any) -> Store:
    """``store``, encrypting the bodies it holds when ``keys`` lists any.

    Its module, and with it ``cryptography``, is imported only when keys are given.
    """
    if isinstance(keys, (str, bytes)):
        raise ConfigurationError(
            "encryption_keys must be a list of keys, newest first, such as [key], not a single key"
        )
    keys = list(keys)
    if not keys:
        return store
    try:
        from idempotency_middleware.encryption import EncryptedStore, Keyring
    except ImportError as exc:
        raise ConfigurationError(
            "encryption_keys needs cryptography: pip install 'idempotency-middleware[encryption]'"
        ) from exc
    return EncryptedStore(store, Keyring(keys))


def guarded(callback: OutcomeCallback, name: str) -> OutcomeCallback:
    """``callback``, made harmless: a callback that raises must not break the request.

    Its first failure is logged with the traceback, later ones only at DEBUG, so a
    broken metrics hook cannot flood the logs.
    """
    failed = False

    def call(event: OutcomeEvent) -> None:
        nonlocal failed
        try:
            callback(event)
        except Exception:
            level = logging.DEBUG if failed else logging.ERROR
            failed = True
            _logger.log(
                level,
                "%s raised on outcome %s; the request was not affected (further failures "
                "are logged at DEBUG)",
                name,
                event.outcome,
                exc_info=True,
            )

    return call
