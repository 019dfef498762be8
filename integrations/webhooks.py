"""Middleware settings for the form service's webhook deliveries, shared by the example apps."""

from __future__ import annotations

from typing import Any

__all__ = ["DELIVERY_HEADER", "RETENTION", "webhook_options"]

DELIVERY_HEADER = "X-Delivery-Id"
"""The header in which the form service sends the same id with every retry of a delivery."""

RETENTION = 72 * 3600
"""Webhook providers retry for days, so deliveries are remembered at least 72 h (SEMANTICS 5)."""


def webhook_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` completed with the delivery id as key source and the webhook retention."""
    defaults: dict[str, Any] = {"ttl": RETENTION}
    # A caller's own key source replaces the header: giving both is a configuration error.
    if "key" not in options:
        defaults["header"] = DELIVERY_HEADER
    return defaults | options
