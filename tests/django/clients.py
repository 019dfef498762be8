"""One way in for the behaviour tests, through Django's test client or its async client.

Each behaviour test class runs twice, once per client, so the sync middleware (WSGI
Django) and the async one (ASGI Django) answer the same assertions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.core.cache import caches
from django.http import HttpResponseBase
from django.test import TestCase

from tests.django import views
from tests.support.problems import assert_problem as assert_problem

JSON = "application/json"
PROBLEM_BASE = "https://idempotency-middleware.readthedocs.io/en/latest/problems/"


@pytest.mark.usefixtures("sqlite_db")
class ClientTestCase(TestCase):
    """A TestCase whose :meth:`send` goes through the sync client, or with
    ``asynchronous`` through the async client (ASGI Django)."""

    asynchronous: ClassVar[bool] = False

    def setUp(self) -> None:
        views.calls.clear()
        caches["default"].clear()

    def send(
        self,
        method: str,
        path: str,
        body: bytes | str = b"{}",
        *,
        key: str | None = None,
        content_type: str = JSON,
        headers: dict[str, str] | None = None,
    ) -> HttpResponseBase:
        """One request; ``key`` goes in the ``Idempotency-Key`` header."""
        all_headers = dict(headers or {})
        if key is not None:
            all_headers["Idempotency-Key"] = key
        client: Any = self.async_client if self.asynchronous else self.client
        call: Callable[..., Any] = getattr(client, method.lower())
        if self.asynchronous:
            call = async_to_sync(call)
        if method == "GET":
            response: HttpResponseBase = call(path, headers=all_headers)
        else:
            response = call(path, body, content_type=content_type, headers=all_headers)
        return response

    def post(self, path: str, body: bytes | str = b"{}", **options: Any) -> HttpResponseBase:
        return self.send("POST", path, body, **options)

    def login(self, username: str) -> None:
        user = User.objects.create_user(username)
        client: Any = self.async_client if self.asynchronous else self.client
        client.force_login(user)
