"""Exactly-once POST and PATCH for Python web APIs.

Clients attach an ``Idempotency-Key``; the server runs the request once and answers
every repeat with the original response. The framework adapters live at
``idempotency_middleware.asgi`` (Starlette, FastAPI); the stores at
``idempotency_middleware.stores``.
"""

from idempotency_middleware.clock import Clock, ManualClock, system_clock
from idempotency_middleware.errors import (
    ConfigurationError,
    IdempotencyError,
    RecordDecodeError,
    StoreError,
)
from idempotency_middleware.fingerprint import RequestFingerprint, key_only
from idempotency_middleware.keys import InvalidKeyError, from_form, from_header, from_json
from idempotency_middleware.options import Options
from idempotency_middleware.problems import Problem, ProblemType
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope
from idempotency_middleware.stores import MemoryStore, Store, from_url

__all__ = [
    "Claim",
    "Clock",
    "ConfigurationError",
    "IdempotencyError",
    "InvalidKeyError",
    "ManualClock",
    "MemoryStore",
    "Options",
    "Problem",
    "ProblemType",
    "Record",
    "RecordDecodeError",
    "RecordState",
    "Request",
    "RequestFingerprint",
    "Store",
    "StoreError",
    "StoredResponse",
    "default_scope",
    "from_form",
    "from_header",
    "from_json",
    "from_url",
    "key_only",
    "system_clock",
]
