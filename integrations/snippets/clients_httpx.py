"""httpx with the httpx-retries transport, set up to retry a POST and the 409 and 503
answers."""

from __future__ import annotations

__all__ = ["httpx_client"]

# [start:httpx]
import httpx
from httpx_retries import Retry as HttpxRetry
from httpx_retries import RetryTransport


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
