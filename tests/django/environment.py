"""What this run of the Django tests uses on the shared servers, named so that no other
run or suite meets it."""

from __future__ import annotations

import os
import secrets

__all__ = ["REDIS_PREFIX", "REDIS_URL", "RUN"]

RUN = f"{os.getpid()}_{secrets.token_hex(4)}"
"""Part of the name of every database and Redis key of this run."""

REDIS_URL = os.environ.get("IDEMPOTENCY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
"""The shared Redis server, as for the rest of the suite."""

REDIS_PREFIX = f"idem-django-test:{RUN}"
"""The KEY_PREFIX of the Django caches on Redis."""
