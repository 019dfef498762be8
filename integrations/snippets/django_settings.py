"""Django settings for a production deployment: the example project's, with a shared cache.

``python -m django check --deploy --settings integrations.snippets.django_settings``
reports nothing about the idempotency store.
"""

from __future__ import annotations

from integrations.django_project.settings import *  # noqa: F403 - a settings overlay

# [start:cache]
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
    }
}
# [end:cache]
