"""System checks of the settings (``manage.py check``), with ids to silence them by.

- ``idempotency_middleware.E001``: an ``IDEMPOTENCY_*`` option is wrong.
- ``idempotency_middleware.E002``: the database store without the app installed.
- ``idempotency_middleware.E003``: ``IDEMPOTENCY_CACHE`` is not in CACHES.
- ``idempotency_middleware.E004``: ``IDEMPOTENCY_DATABASE`` is missing or unsupported.
- ``idempotency_middleware.E005``: ``IDEMPOTENCY_STORE`` names no store.
- ``idempotency_middleware.W001``: the middleware runs before AuthenticationMiddleware,
  so keys are not scoped by user.
- ``idempotency_middleware.W002`` and ``E006``, with ``check --deploy`` only: with
  ``IDEMPOTENCY_STORE = "cache"``, the cache is not shared by the workers (W002) or has
  no atomic ``add`` (E006), so a duplicate can run. Fine for runserver and tests, hence
  deploy-only, as django-ratelimit does. Without the setting such a cache is never used:
  the records go to the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from idempotency_middleware.django.cache_store import NOT_ATOMIC, NOT_SHARED
from idempotency_middleware.django.conf import cache_alias, conf

_MIDDLEWARE = {
    "idempotency_middleware.django.IdempotencyMiddleware",
    "idempotency_middleware.django.middleware.IdempotencyMiddleware",
}
_AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"

_FIX = (
    "Give IDEMPOTENCY_CACHE a Redis or Memcached cache, or remove IDEMPOTENCY_STORE to keep "
    "the records in the database, or set it to a redis:// URL."
)


@register("idempotency")
def check_settings(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    """The settings build a store and valid options; the middleware sees request.user."""
    messages: list[CheckMessage] = [Error(str(exc), id=exc.check_id) for exc in conf.problems()]
    middleware = list(settings.MIDDLEWARE)
    ours = [index for index, path in enumerate(middleware) if path in _MIDDLEWARE]
    if ours and _AUTHENTICATION in middleware and middleware.index(_AUTHENTICATION) > ours[0]:
        messages.append(
            Warning(
                "IdempotencyMiddleware runs before AuthenticationMiddleware, so it cannot "
                "see request.user: the keys of different users are not kept apart.",
                hint="Move IdempotencyMiddleware after AuthenticationMiddleware in MIDDLEWARE.",
                id="idempotency_middleware.W001",
            )
        )
    return messages


@register(Tags.caches, "idempotency", deploy=True)
def check_cache_is_shared(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """The cache chosen with ``IDEMPOTENCY_STORE = "cache"`` is shared by every worker and
    claims atomically."""
    if getattr(settings, "IDEMPOTENCY_STORE", None) != "cache":
        return []
    alias = cache_alias()
    backend = settings.CACHES.get(alias, {}).get("BACKEND", "")
    if backend in NOT_SHARED:
        return [
            Warning(
                f"The idempotency cache {alias!r} ({backend}) {NOT_SHARED[backend]}: each "
                "worker process keeps its own claims, so a duplicate sent to another worker "
                "runs again.",
                hint=_FIX,
                id="idempotency_middleware.W002",
            )
        ]
    if backend in NOT_ATOMIC:
        return [
            Error(
                f"The idempotency cache {alias!r} ({backend}) {NOT_ATOMIC[backend]}: "
                "duplicates are not stopped.",
                hint=_FIX,
                id="idempotency_middleware.E006",
            )
        ]
    return []
