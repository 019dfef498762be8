"""Django settings that keep the records in the project's database instead of its cache.

``python -m django check --deploy --settings integrations.snippets.django_database_settings``
reports nothing about the idempotency store.
"""

from __future__ import annotations

from integrations.django_project.settings import *  # noqa: F403 - a settings overlay

# [start:database]
IDEMPOTENCY_STORE = "database"  # with "idempotency_middleware.django" in INSTALLED_APPS
# [end:database]
