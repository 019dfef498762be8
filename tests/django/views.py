"""The views of the Django tests; ``calls[name]`` counts how often each one ran."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

from django.http import (
    HttpRequest,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers, viewsets
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request as DRFRequest
from rest_framework.response import Response as DRFResponse
from rest_framework.views import APIView

from idempotency_middleware.django import idempotency_exempt, idempotency_required
from idempotency_middleware.outcomes import OutcomeEvent

calls: Counter[str] = Counter()
"""Runs per view name; tests reset it."""


def _run(name: str, request: HttpRequest) -> JsonResponse:
    calls[name] += 1
    response = JsonResponse(
        {
            "view": name,
            "run": calls[name],
            "user": request.user.pk if request.user.is_authenticated else None,
            "received": request.body.decode(),
        },
        status=201,
        headers={"Location": f"/things/{calls[name]}", "X-Custom": "kept"},
    )
    response.set_cookie("session-ish", f"secret-{calls[name]}")
    return response


@csrf_exempt
def echo(request: HttpRequest) -> JsonResponse:
    """201 with a Location, a custom header and a cookie; PATCH too."""
    return _run("echo", request)


@csrf_exempt
@idempotency_exempt
def exempt(request: HttpRequest) -> JsonResponse:
    return _run("exempt", request)


@csrf_exempt
@idempotency_required
def required(request: HttpRequest) -> JsonResponse:
    return _run("required", request)


heard: list[OutcomeEvent] = []
"""What the listener of :func:`listened` heard; tests reset it."""


@csrf_exempt
@idempotency_required(on_outcome=heard.append, max_request_bytes=100)
def listened(request: HttpRequest) -> JsonResponse:
    return _run("listened", request)


@csrf_exempt
@idempotency_required(header="X-Delivery-Id", ttl=72 * 3600)
def delivery(request: HttpRequest) -> JsonResponse:
    return _run("delivery", request)


@csrf_exempt
def stream(request: HttpRequest) -> StreamingHttpResponse:
    calls["stream"] += 1

    def chunks() -> Iterator[bytes]:
        yield b"first,"
        yield b"second"

    return StreamingHttpResponse(chunks(), content_type="text/plain", status=201)


@csrf_exempt
async def astream(request: HttpRequest) -> StreamingHttpResponse:
    calls["astream"] += 1

    async def chunks() -> AsyncIterator[bytes]:
        yield b"first,"
        await asyncio.sleep(0)
        yield b"second"

    return StreamingHttpResponse(chunks(), content_type="text/plain", status=201)


@method_decorator(csrf_exempt, name="dispatch")
class Plain(View):
    def post(self, request: HttpRequest) -> HttpResponseBase:
        return _run("cbv-plain", request)


@method_decorator(csrf_exempt, name="dispatch")
@idempotency_exempt
class ExemptClass(View):
    def post(self, request: HttpRequest) -> HttpResponseBase:
        return _run("cbv-exempt", request)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(idempotency_exempt, name="dispatch")
class ExemptDispatch(View):
    def post(self, request: HttpRequest) -> HttpResponseBase:
        return _run("cbv-exempt-dispatch", request)


@method_decorator(csrf_exempt, name="dispatch")
class RequiredPost(View):
    """A key is required to POST, not to PATCH."""

    @method_decorator(idempotency_required)
    def post(self, request: HttpRequest) -> HttpResponseBase:
        return _run("cbv-required-post", request)

    def patch(self, request: HttpRequest) -> HttpResponseBase:
        return _run("cbv-patch", request)


@idempotency_required
class RequiredAPIView(APIView):
    authentication_classes: list[Any] = []

    def post(self, request: DRFRequest) -> DRFResponse:
        calls["drf-view"] += 1
        return DRFResponse({"run": calls["drf-view"]}, status=201)


class Things(viewsets.ViewSet):
    """``create`` requires a key; ``partial_update`` is exempt."""

    authentication_classes: list[Any] = []

    @method_decorator(idempotency_required)
    def create(self, request: DRFRequest) -> DRFResponse:
        calls["drf-create"] += 1
        return DRFResponse({"run": calls["drf-create"], "data": request.data}, status=201)

    @method_decorator(idempotency_exempt)
    def partial_update(self, request: DRFRequest, pk: str) -> DRFResponse:
        calls["drf-update"] += 1
        return DRFResponse({"run": calls["drf-update"]})


class TokenOrders(APIView):
    """DRF's token authentication: the user is known only inside the view."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: DRFRequest) -> DRFResponse:
        calls["drf-token"] += 1
        return DRFResponse({"run": calls["drf-token"], "user": request.user.pk}, status=201)


class OrderSerializer(serializers.Serializer[Any]):
    item = serializers.CharField()
    amount = serializers.IntegerField()


class ValidatedOrders(APIView):
    """DRF validates the body first: a 400 from ``ValidationError`` means nothing ran."""

    authentication_classes: list[Any] = []

    def post(self, request: DRFRequest) -> DRFResponse:
        OrderSerializer(data=request.data).is_valid(raise_exception=True)
        calls["drf-orders"] += 1
        return DRFResponse({"run": calls["drf-orders"]}, status=201)


class RefusedRefunds(APIView):
    """Runs, then answers 400 itself: a final answer."""

    authentication_classes: list[Any] = []

    def post(self, request: DRFRequest) -> DRFResponse:
        calls["drf-refunds"] += 1
        return DRFResponse({"error": "nothing to refund"}, status=400)
