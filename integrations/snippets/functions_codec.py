"""A codec for results that JSON cannot hold: exact amounts and moments."""

from __future__ import annotations

# [start:codec]
import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from idempotency_middleware import idempotent
from idempotency_middleware.stores import Store


def _tag(value: Any) -> dict[str, str]:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _untag(document: dict[str, Any]) -> Any:
    if document.keys() == {"$decimal"}:
        return Decimal(document["$decimal"])
    if document.keys() == {"$datetime"}:
        return datetime.fromisoformat(document["$datetime"])
    return document


class TaggedJSON:
    """JSON, with Decimal and datetime values tagged so they come back as they were."""

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, default=_tag).encode()

    def decode(self, data: bytes) -> Any:
        return json.loads(data, object_hook=_untag)


def create_invoicing(store: Store, issued: Callable[[], datetime]) -> Callable[[str], Any]:
    """``invoice(order_id)``, which issues one invoice per order."""

    @idempotent(store, key="order_id", codec=TaggedJSON())
    def invoice(order_id: str) -> dict[str, Any]:
        return {"order": order_id, "total": Decimal("12.50"), "issued": issued()}

    return invoice


# [end:codec]

__all__ = ["TaggedJSON", "create_invoicing"]
