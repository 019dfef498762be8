"""Reading a rendered checkout form the way a browser would submit it."""

from __future__ import annotations

import re
from urllib.parse import urlencode

__all__ = ["CHECKOUT_FIELDS", "form_body", "hidden_inputs"]

CHECKOUT_FIELDS = {"item": "annual plan", "amount": "19900"}

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"')


def hidden_inputs(page: str) -> dict[str, str]:
    """The hidden inputs of ``page``: the CSRF token and the idempotency key."""
    return {match["name"]: match["value"] for match in _HIDDEN.finditer(page)}


def form_body(page: str) -> str:
    """The urlencoded body a click on the page's button sends."""
    return urlencode({**hidden_inputs(page), **CHECKOUT_FIELDS})
