"""stripe-python, which adds an Idempotency-Key to every POST and keeps it across its
retries."""

from __future__ import annotations

__all__ = ["stripe_client"]

# [start:stripe]
import stripe


def stripe_client(api_base: str, api_key: str, timeout: float = 80) -> stripe.StripeClient:
    """stripe-python against a Stripe-compatible API served with ``error_format="stripe"``:
    it adds an Idempotency-Key to every POST and keeps it across its retries."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=5,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


# [end:stripe]
