"""Multipart forms that a middleware above ours has already parsed (as a CSRF check
reading ``request.POST`` does): Django has no raw body left, so the middleware takes the
fields and files Django parsed, and the form still has one fingerprint and its key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.test import override_settings
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from idempotency_middleware import ConfigurationError
from idempotency_middleware.django import FORM_FIELD
from tests.django.clients import ClientTestCase, assert_problem
from tests.support.replays import is_replay

runs: list[dict[str, Any]] = []


class ReadsTheForm:
    """A middleware that parses the form before the idempotency middleware sees it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.POST  # noqa: B018 - the read is the point
        return self.get_response(request)


class ReadsTheStream(ReadsTheForm):
    """A middleware that reads the raw stream, leaving Django nothing to parse."""

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        request.read()
        return self.get_response(request)


@csrf_exempt
def upload(request: HttpRequest) -> JsonResponse:
    received = {
        "fields": dict(request.POST.lists()),
        "files": {name: files[0].read().decode() for name, files in request.FILES.lists()},
    }
    runs.append(received)
    return JsonResponse({"run": len(runs), **received}, status=201)


urlpatterns = [path("upload", upload)]

MIDDLEWARE = list(settings.MIDDLEWARE)
"""The project's middleware, with ours after AuthenticationMiddleware."""


def _form(item: str, **extra: str) -> dict[str, Any]:
    return {
        "item": item,
        "amount": "1",
        "receipt": SimpleUploadedFile("receipt.txt", f"receipt for {item}".encode()),
        **extra,
    }


@override_settings(ROOT_URLCONF=__name__, MIDDLEWARE=[f"{__name__}.ReadsTheForm", *MIDDLEWARE])
class ParsedFormTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        runs.clear()

    def upload(self, form: dict[str, Any], key: str | None = None) -> HttpResponseBase:
        headers = {} if key is None else {"Idempotency-Key": key}
        client: Any = self.async_client if self.asynchronous else self.client
        post = async_to_sync(client.post) if self.asynchronous else client.post
        response: HttpResponseBase = post("/upload", form, headers=headers)
        return response

    def test_a_retry_replays_and_another_form_under_the_key_is_refused(self) -> None:
        first = self.upload(_form("annual plan"), key="form-1")
        retry = self.upload(_form("annual plan"), key="form-1")
        other = self.upload(_form("monthly plan"), key="form-1")

        assert first.status_code == 201, getattr(first, "content", b"")
        body = json.loads(first.content)  # type: ignore[attr-defined]
        assert body["fields"] == {"item": ["annual plan"], "amount": ["1"]}
        assert body["files"] == {"receipt": "receipt for annual plan"}
        assert is_replay(retry)
        assert retry.content == first.content  # type: ignore[attr-defined]
        assert_problem(other, 422, "key-reused")
        assert len(runs) == 1

    def test_another_file_under_the_key_is_refused(self) -> None:
        self.upload(_form("annual plan"), key="form-2")
        form = _form("annual plan")
        form["receipt"] = SimpleUploadedFile("receipt.txt", b"another receipt")

        assert_problem(self.upload(form, key="form-2"), 422, "key-reused")
        assert len(runs) == 1

    @override_settings(IDEMPOTENCY_KEY="idempotency_middleware.django.FORM_KEY")
    def test_the_key_in_a_form_field(self) -> None:
        first = self.upload(_form("annual plan", **{FORM_FIELD: "rendering-1"}))
        retry = self.upload(_form("annual plan", **{FORM_FIELD: "rendering-1"}))
        another = self.upload(_form("annual plan", **{FORM_FIELD: "rendering-2"}))

        assert first.status_code == 201
        assert is_replay(retry)
        assert another.status_code == 201
        assert not is_replay(another)
        assert len(runs) == 2

    def test_a_stream_read_above_is_a_configuration_error_naming_the_fix(self) -> None:
        stream_first = [f"{__name__}.ReadsTheStream", *MIDDLEWARE]
        with (
            override_settings(MIDDLEWARE=stream_first),
            pytest.raises(ConfigurationError, match="move IdempotencyMiddleware above it"),
        ):
            self.upload(_form("annual plan"), key="form-3")
        assert runs == []


class AsyncParsedFormTests(ParsedFormTests):
    asynchronous = True
