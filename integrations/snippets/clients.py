"""Clients that retry on their own, set up to retry a POST safely: each sends one
Idempotency-Key with every attempt of an operation, and retries a 409 (the original still
runs) and a 503 (a proxy, or the store, was unavailable)."""

from __future__ import annotations

import httpx
import requests
import stripe
from httpx_retries import Retry as HttpxRetry
from httpx_retries import RetryTransport
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

__all__ = ["httpx_client", "requests_session", "stripe_client"]


# [start:stripe]
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


# [start:requests]
def requests_session(retries: int = 5) -> requests.Session:
    """requests with urllib3's Retry, which leaves POST alone unless told."""
    retry = Retry(
        total=retries,
        allowed_methods={"POST", "PATCH"} | Retry.DEFAULT_ALLOWED_METHODS,
        status_forcelist={409, 503},
        backoff_factor=0.5,
    )
    session = requests.Session()
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


# [end:requests]


# [start:httpx]
def httpx_client(base_url: str, timeout: float = 10) -> httpx.Client:
    """httpx with the httpx-retries transport."""
    retry = HttpxRetry(
        total=5,
        allowed_methods={"POST", "PATCH"} | HttpxRetry.RETRYABLE_METHODS,
        status_forcelist={409, 503},
        backoff_factor=0.5,
    )
    return httpx.Client(base_url=base_url, transport=RetryTransport(retry=retry), timeout=timeout)


# [end:httpx]
