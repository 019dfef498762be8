"""``auto_window`` in Django: a site-wide setting; a view that requires a key has no
keyless requests to de-duplicate, so its decorator refuses the option."""

from __future__ import annotations

import pytest

from idempotency_middleware.django import idempotency_required
from idempotency_middleware.errors import ConfigurationError


def test_a_view_that_requires_a_key_refuses_a_window() -> None:
    with pytest.raises(ConfigurationError, match=r"auto_window.*IDEMPOTENCY_AUTO_WINDOW"):
        idempotency_required(auto_window=60)
