"""How an encrypted response body is recognised, without ``cryptography``.

A worker configured without ``encryption_keys`` must not replay what a worker with keys
wrote: the ciphertext would reach the client as the body of a success. Every body
:mod:`idempotency_middleware.encryption` writes starts with :data:`SEALED_PREFIX`, so
the plain path refuses it as a record it cannot read (503 ``record-undecodable``, and
the request does not run). A plain body of the app's own that starts with those bytes is
refused the same way, as the price of telling the two apart without a key.
"""

from __future__ import annotations

from idempotency_middleware.errors import RecordDecodeError
from idempotency_middleware.records import Record

__all__ = ["SEALED_PREFIX", "refuse_sealed"]

SEALED_PREFIX = b"idem-aesgcm-1:"
"""The first bytes of every encrypted body: the format's name and version."""


def refuse_sealed(record: Record | None) -> None:
    """RecordDecodeError when ``record`` holds an encrypted body, read without a key."""
    response = None if record is None else record.response
    if response is not None and response.body.startswith(SEALED_PREFIX):
        raise RecordDecodeError(
            "stored body is encrypted and no encryption_keys are configured: "
            "give this worker the keys the others have"
        )
