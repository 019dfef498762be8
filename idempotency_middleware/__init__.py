"""Exactly-once POST and PATCH for Python web APIs.

Clients attach an ``Idempotency-Key``; the server runs the request once and answers
every repeat with the original response. The framework adapters live at
``idempotency_middleware.asgi`` (Starlette, FastAPI); the stores at
``idempotency_middleware.stores``. :func:`idempotent` does the same for functions and
background tasks, keyed by a message id.
"""

from idempotency_middleware.clock import Clock, ManualClock, system_clock
from idempotency_middleware.error_shapes import ErrorShape
from idempotency_middleware.errors import (
    ConfigurationError,
    IdempotencyError,
    RecordDecodeError,
    StoreError,
)
from idempotency_middleware.fingerprint import RequestFingerprint, key_only
from idempotency_middleware.functions import (
    InProgressError,
    KeyReusedError,
    ResultNotStoredError,
    idempotent,
)
from idempotency_middleware.functions_codec import (
    JSON,
    ArgumentsNotEncodableError,
    Codec,
    JSONCodec,
)
from idempotency_middleware.keys import InvalidKeyError, from_form, from_header, from_json
from idempotency_middleware.options import Options
from idempotency_middleware.problems import Problem, ProblemType
from idempotency_middleware.records import Claim, Record, RecordState, StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope
from idempotency_middleware.stores import MemoryStore, Store, from_url

__all__ = [
    "JSON",
    "ArgumentsNotEncodableError",
    "Claim",
    "Clock",
    "Codec",
    "ConfigurationError",
    "ErrorShape",
    "IdempotencyError",
    "InProgressError",
    "InvalidKeyError",
    "JSONCodec",
    "KeyReusedError",
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
    "ResultNotStoredError",
    "Store",
    "StoreError",
    "StoredResponse",
    "default_scope",
    "from_form",
    "from_header",
    "from_json",
    "from_url",
    "idempotent",
    "key_only",
    "system_clock",
]
