"""The benchmark's orders API as a Django project: settings, views and URLconf in one.

Django is configured once per process; the bare handler and ours differ only by the
``MIDDLEWARE`` they load when built. Ours is reached through the stable path
``idempotency_middleware.django`` once that adapter exists.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from benchmarks.app import Calls
from idempotency_middleware.stores import Store

__all__ = ["OUR_MIDDLEWARE", "create_django_app", "django_adapter_missing", "urlpatterns"]

OUR_MIDDLEWARE = "idempotency_middleware.django.IdempotencyMiddleware"
_calls = Calls()


def place_order(request: HttpRequest) -> HttpResponse:
    order: dict[str, Any] = json.loads(request.body)
    _calls.placed += 1
    body = {"id": _calls.placed, "item": order["item"], "amount": order["amount"]}
    return JsonResponse(body, status=201, headers={"Location": f"/orders/{_calls.placed}"})


def get_order(request: HttpRequest, order_id: int) -> HttpResponse:
    _calls.read += 1
    return JsonResponse({"id": order_id, "item": "book", "amount": 1250})


def _orders(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    return place_order(request)


urlpatterns = [path("orders", _orders), path("orders/<int:order_id>", get_order)]


def django_adapter_missing() -> str | None:
    """Why ours cannot run under Django here, or None."""
    if importlib.util.find_spec("idempotency_middleware.django") is None:
        return "idempotency_middleware.django does not exist yet"
    return None


def create_django_app(store: Store | None) -> tuple[WSGIHandler, Calls]:
    """A WSGI handler of this project; with ``store``, behind our middleware."""
    if not settings.configured:
        settings.configure(
            DEBUG=False,
            SECRET_KEY="benchmark",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            USE_TZ=True,
        )
        import django

        django.setup()
    settings.MIDDLEWARE = [] if store is None else [OUR_MIDDLEWARE]
    if store is not None:
        settings.IDEMPOTENCY_STORE = store
    # The views share one counter: the driver reads differences, one variant at a time.
    return WSGIHandler(), _calls
