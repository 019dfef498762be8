"""A one-module Django project for ``uvicorn --factory``: an async view that streams from
an async iterator and writes down each of its runs, for tests that leave mid-stream
under a real server. ``IDEMPOTENCY_TEST_RUNS`` names the runs file."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

SECRET_KEY = "stream-server-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
DATABASES: dict[str, object] = {}
MIDDLEWARE = ["idempotency_middleware.django.IdempotencyMiddleware"]
ROOT_URLCONF = __name__
IDEMPOTENCY_STORE = "memory://"
IDEMPOTENCY_MAX_RESPONSE_BYTES = 4096


@csrf_exempt
async def stream(request: HttpRequest) -> StreamingHttpResponse:
    """``X-Chunks`` chunks of ``X-Chunk-Bytes`` bytes, one every 50 ms."""
    key = request.headers.get("idempotency-key", "-")
    line = f"{key} {os.getpid()}\n".encode()
    descriptor = os.open(
        os.environ["IDEMPOTENCY_TEST_RUNS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT
    )
    try:
        os.write(descriptor, line)  # one short write, too quick to block the loop
    finally:
        os.close(descriptor)
    count = int(request.headers.get("x-chunks", "20"))
    size = int(request.headers.get("x-chunk-bytes", "100"))

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * size
            await asyncio.sleep(0.05)

    return StreamingHttpResponse(chunks(), status=201, content_type="text/plain")


urlpatterns = [path("stream", stream)]


def create_application() -> ASGIHandler:
    """The application, for ``--factory``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)
    return get_asgi_application()
