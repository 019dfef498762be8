"""The ASGI application: ``uvicorn integrations.django_project.asgi:application``, or
``uvicorn --factory integrations.django_project.asgi:create_application``."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "integrations.django_project.settings")

application = get_asgi_application()


def create_application() -> ASGIHandler:
    """The application, for ``--factory``."""
    return application
