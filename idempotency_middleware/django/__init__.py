"""The Django adapter.

Add ``"idempotency_middleware.django.IdempotencyMiddleware"`` to MIDDLEWARE, after
``AuthenticationMiddleware``; every POST and PATCH with an ``Idempotency-Key`` then runs
once. Add ``"idempotency_middleware.django"`` to INSTALLED_APPS for the system checks,
the ``{% load idempotency %}`` tags and the database store. Settings are described in
:mod:`idempotency_middleware.django.conf`.
"""

from idempotency_middleware.django.cache_store import CacheStore
from idempotency_middleware.django.database_store import DatabaseStore
from idempotency_middleware.django.decorators import idempotency_exempt, idempotency_required
from idempotency_middleware.django.forms import FORM_FIELD, FORM_KEY
from idempotency_middleware.django.middleware import IdempotencyMiddleware

__all__ = [
    "FORM_FIELD",
    "FORM_KEY",
    "CacheStore",
    "DatabaseStore",
    "IdempotencyMiddleware",
    "idempotency_exempt",
    "idempotency_required",
]
