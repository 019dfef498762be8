"""Settings of the example project, read from the environment.

``DJANGO_PROJECT_DATABASE``
    A database URL: ``sqlite:////path/db.sqlite3`` (the default, next to this file),
    ``postgresql://user@host:port/name`` or ``mysql://user@host:port/name`` (MySQL or
    MariaDB, through PyMySQL).
``DJANGO_PROJECT_CACHE``
    ``locmem://`` (the default) or a Redis URL such as ``redis://127.0.0.1:6379/0``;
    ``DJANGO_PROJECT_CACHE_PREFIX`` sets its KEY_PREFIX.
``DJANGO_PROJECT_STORE``
    ``IDEMPOTENCY_STORE``: unset for the default (the cache if it is Redis, else the
    database), ``cache``, ``database``, or a store URL.
``DJANGO_PROJECT_ORDER_DELAY``
    Seconds each order waits for its "payment provider" (default 0): the window in
    which clients time out and retry.
``DJANGO_PROJECT_SECRET_KEY``, ``DJANGO_PROJECT_DEBUG``
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent


def database(url: str) -> dict[str, Any]:
    """A DATABASES entry from a URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:])}
    engines = {
        "postgresql": "postgresql",
        "postgres": "postgresql",
        "mysql": "mysql",
        "mariadb": "mysql",
    }
    if scheme not in engines:
        raise ValueError(f"DJANGO_PROJECT_DATABASE: unsupported database URL {url!r}")
    if engines[scheme] == "mysql":
        # Django's MySQL backend imports MySQLdb; PyMySQL stands in for it.
        importlib.import_module("pymysql").install_as_MySQLdb()
    return {
        "ENGINE": f"django.db.backends.{engines[scheme]}",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": {"connect_timeout": 5},
    }


def cache(url: str, prefix: str) -> dict[str, Any]:
    """A CACHES entry from a URL."""
    if url.startswith(("redis://", "rediss://")):
        return {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": prefix}


SECRET_KEY = os.environ.get("DJANGO_PROJECT_SECRET_KEY", "django-insecure-example-only")
DEBUG = os.environ.get("DJANGO_PROJECT_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "idempotency_middleware.django",
    "integrations.django_project.orders",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware: keys belong to request.user.
    "idempotency_middleware.django.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "integrations.django_project.urls"
WSGI_APPLICATION = "integrations.django_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {
    "default": database(
        os.environ.get("DJANGO_PROJECT_DATABASE", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
# The view's writes commit when it returns, before the middleware completes the record.
DATABASES["default"]["ATOMIC_REQUESTS"] = True

CACHES = {
    "default": cache(
        os.environ.get("DJANGO_PROJECT_CACHE", "locmem://"),
        os.environ.get("DJANGO_PROJECT_CACHE_PREFIX", ""),
    )
}

if "DJANGO_PROJECT_STORE" in os.environ:
    IDEMPOTENCY_STORE = os.environ["DJANGO_PROJECT_STORE"]

ORDER_DELAY = float(os.environ.get("DJANGO_PROJECT_ORDER_DELAY", "0"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
