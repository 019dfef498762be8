"""requests with urllib3's Retry, set up to retry a POST and the 409 and 503 answers."""

from __future__ import annotations

__all__ = ["requests_session"]

# [start:requests]
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


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
