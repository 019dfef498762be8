"""The records of the database store, read-only in the Django admin."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from idempotency_middleware.django.models import IdempotencyRecord
from idempotency_middleware.errors import RecordDecodeError
from idempotency_middleware.stores.codec import decode_headers

_PREVIEW = 2000

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[IdempotencyRecord]
else:  # ModelAdmin is generic in django-stubs only
    _ModelAdmin = admin.ModelAdmin


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(_ModelAdmin):
    """Records are written by the middleware only: nothing here adds, changes or deletes
    one. Keys are digests, searched by their beginning."""

    list_display = ("key", "state", "status", "expires", "created")
    list_filter = ("state",)
    search_fields = ("^key",)
    ordering = ("-created_at",)
    fields = (
        "key",
        "state",
        "status",
        "expires",
        "created",
        "fingerprint",
        "owner",
        "response_headers",
        "response_body",
    )
    readonly_fields = fields

    @admin.display(description="expires (UTC)", ordering="expires_at")
    def expires(self, record: IdempotencyRecord) -> datetime:
        return _when(record.expires_at)

    @admin.display(description="created (UTC)", ordering="created_at")
    def created(self, record: IdempotencyRecord) -> datetime:
        return _when(record.created_at)

    @admin.display(description="response headers")
    def response_headers(self, record: IdempotencyRecord) -> str:
        if record.headers is None:
            return "-"
        try:
            lines = decode_headers(bytes(record.headers))
        except RecordDecodeError:
            return "(cannot be decoded)"
        return "\n".join(f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in lines)

    @admin.display(description="response body")
    def response_body(self, record: IdempotencyRecord) -> str:
        if record.body is None:
            return "-" if record.replayable else "(not stored: too large or streamed)"
        body = bytes(record.body)
        more = f"… ({len(body)} bytes)" if len(body) > _PREVIEW else ""
        return body[:_PREVIEW].decode("utf-8", "replace") + more

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: IdempotencyRecord | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: IdempotencyRecord | None = None
    ) -> bool:
        return False
