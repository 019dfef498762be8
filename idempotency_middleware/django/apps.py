"""The Django app: the database store's model and migration, its admin, the system
checks and the ``{% load idempotency %}`` template tags."""

from __future__ import annotations

from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    """``"idempotency_middleware.django"`` in INSTALLED_APPS.

    The middleware works without it; install it for the database store
    (``IDEMPOTENCY_STORE = "database"``, then ``migrate``), the template tag, the admin
    and the system checks, which run only for installed apps.
    """

    name = "idempotency_middleware.django"
    label = "idempotency"
    verbose_name = "Idempotency"

    def ready(self) -> None:
        # Imported for its @register decorators.
        from idempotency_middleware.django import checks  # noqa: F401
