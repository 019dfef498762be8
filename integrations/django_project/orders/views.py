"""The orders API (``POST /orders`` with an ``Idempotency-Key``), the form service's
webhook (``POST /webhooks/forms``, keyed by ``X-Delivery-Id``) and the checkout form
(``/checkout``, keyed by the hidden input of ``{% idempotency_key_input %}``)."""

from __future__ import annotations

import json
import os
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from idempotency_middleware.django import FORM_FIELD, FORM_KEY, idempotency_required
from integrations.django_project.orders.forms import OrderForm
from integrations.django_project.orders.models import Order
from integrations.webhooks import DELIVERY_HEADER, webhook_options


def _pay() -> None:
    # The payment provider is slow: the order is placed but not yet answered, the window
    # in which clients time out and retry (and people click again).
    time.sleep(settings.ORDER_DELAY)


def _place(request: HttpRequest, key_header: str) -> Order | JsonResponse:
    """The order of a JSON body, placed and paid for, or the error response."""
    try:
        form = OrderForm(json.loads(request.body))
    except ValueError:
        return JsonResponse({"error": "the body must be JSON"}, status=400)
    if not form.is_valid():
        return JsonResponse({"errors": form.errors}, status=422)
    order = Order.objects.create(
        **form.cleaned_data, request_key=request.headers.get(key_header), pid=os.getpid()
    )
    _pay()
    return order


@csrf_exempt  # an API for clients with credentials, not browsers with cookies
@require_POST
def place_order(request: HttpRequest) -> JsonResponse:
    """Place an order from a JSON body ``{"item": ..., "amount": ...}``: 201."""
    order = _place(request, "Idempotency-Key")
    if isinstance(order, JsonResponse):
        return order
    return JsonResponse(order.as_json(), status=201, headers={"Location": f"/orders/{order.pk}"})


@csrf_exempt  # a webhook, signed by its provider, not a browser's form
@idempotency_required(**webhook_options({}))
@require_POST
def receive_form(request: HttpRequest) -> JsonResponse:
    """The form service's order-form webhook, keyed by its delivery id: one order per
    delivery, however often it is sent."""
    order = _place(request, DELIVERY_HEADER)
    if isinstance(order, JsonResponse):
        return order
    return JsonResponse({"order": order.as_json()})


@require_GET
def count_orders(request: HttpRequest) -> JsonResponse:
    """``{"count": n}``: every order, or those whose request carried ``?key=``."""
    orders = Order.objects.all()
    if "key" in request.GET:
        orders = orders.filter(request_key=request.GET["key"])
    return JsonResponse({"count": orders.count()})


@require_GET
def get_order(request: HttpRequest, order_id: int) -> JsonResponse:
    return JsonResponse(get_object_or_404(Order, pk=order_id).as_json())


# A browser shows the last answer it receives: a second click waits for the first
# order's confirmation instead of getting a 409 error page.
@idempotency_required(key=FORM_KEY, in_flight="wait")
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """The checkout page; its form posts back here and the order is confirmed."""
    form = OrderForm(
        request.POST if request.method == "POST" else None,
        initial={"item": "annual plan", "amount": 19_900},
    )
    if not form.is_valid():
        return render(request, "orders/checkout.html", {"form": form})
    order = Order.objects.create(
        **form.cleaned_data, request_key=request.POST[FORM_FIELD], pid=os.getpid()
    )
    _pay()
    return render(request, "orders/confirmation.html", {"order": order})
