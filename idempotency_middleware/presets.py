"""One-line settings for receiving webhooks, keyed by each provider's delivery id.

``IdempotencyMiddleware(app, store=store, **presets.github("/webhooks/github"))``: the
key, its scope, a retention of at least 72 hours (providers retry for up to three
days), and a key-only fingerprint, since providers re-render the payload of a
redelivery and a 422 would count as a failed delivery. A delivery that the view
refuses with 401 or 403 (a forged signature) is not stored, so the genuine one still
runs.
"""

from __future__ import annotations

from typing import Any

from idempotency_middleware.fingerprint import key_only
from idempotency_middleware.keys import from_header, from_headers, from_json
from idempotency_middleware.request import Request
from idempotency_middleware.scope import ScopeFunction

__all__ = ["github", "header_scope", "shopify", "standard_webhooks", "stripe"]

WEBHOOK_TTL = 72 * 3600


def header_scope(name: str, provider: str) -> ScopeFunction:
    """A scope function: the provider's name and the value of header ``name``
    (a hook or shop id), so two hooks never share delivery ids."""

    def scope(request: Request) -> str:
        return f"{provider}:{request.header(name) or ''}"

    return scope


def _preset(path: str | None, provider: str, **options: Any) -> dict[str, Any]:
    preset: dict[str, Any] = {
        "scope": lambda request: provider,
        "ttl": WEBHOOK_TTL,
        "fingerprint": key_only,
        # A redelivery racing the first attempt waits for its answer instead of a 409,
        # which the provider would count as a failure and retry once more.
        "in_flight": "wait",
        "wait_timeout": 10,
        **options,
    }
    if path is not None:
        preset["include"] = [path]
    return preset


def github(path: str | None = None) -> dict[str, Any]:
    """GitHub: ``X-GitHub-Delivery``, scoped by ``X-GitHub-Hook-ID``."""
    return _preset(
        path,
        "github",
        key=from_header("X-GitHub-Delivery"),
        scope=header_scope("X-GitHub-Hook-ID", "github"),
    )


def stripe(path: str | None = None) -> dict[str, Any]:
    """Stripe: the event's ``id`` from the JSON body."""
    return _preset(path, "stripe", key=from_json("/id"))


def shopify(path: str | None = None) -> dict[str, Any]:
    """Shopify: ``X-Shopify-Event-Id``, scoped by ``X-Shopify-Shop-Domain``."""
    return _preset(
        path,
        "shopify",
        key=from_header("X-Shopify-Event-Id"),
        scope=header_scope("X-Shopify-Shop-Domain", "shopify"),
    )


def standard_webhooks(path: str | None = None) -> dict[str, Any]:
    """Standard Webhooks and Svix: ``webhook-id``, or ``svix-id``, the header Svix sends
    by default (its verifier reads either). A delivery holding both with different ids
    is answered 400, since which one was signed cannot be told."""
    return _preset(path, "standard-webhooks", key=from_headers("webhook-id", "svix-id"))
