"""The fingerprints and lookup keys stored by earlier releases stay valid.

Records outlive a deployment: a retry that reaches a worker of the next release must
find its record under the same lookup key and match its fingerprint, or it would run
again (a new key) or be refused (422). These values were computed by the release
before the fingerprint and lookup key were last rewritten for speed.
"""

from __future__ import annotations

import pytest

from idempotency_middleware.fingerprint import RequestFingerprint
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope, lookup_key

ORDER = Request(
    "POST",
    "/orders",
    "b=2&a=1",
    (
        ("content-type", "application/json; charset=utf-8"),
        ("x-tenant", "t1"),
        ("authorization", "Bearer abc"),
    ),
    b'{"item": "book", "amount": 1250}',
)
FORM = Request(
    "POST",
    "/upload",
    "",
    (("content-type", "multipart/form-data; boundary=XyZ"),),
    b'--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--XyZ--\r\n',
)


@pytest.mark.parametrize(
    ("fingerprint", "request_", "stored"),
    [
        (
            RequestFingerprint(),
            ORDER,
            "295efad88b4587f113ddaeb0334dbd6a02739390d59a18ac05dff897bf13416a",
        ),
        (
            RequestFingerprint(headers=["X-Tenant"]),
            ORDER,
            "0a29b2741db60ed753786963e5af0a612ae5ece1f15f31d86ec4513570e134f6",
        ),
        (
            RequestFingerprint(canonical_json=True),
            ORDER,
            "43ee12c4289412ea9f19b6452fb3c86e8bd6a626860c2ba6a5d98255b7d2bf1e",
        ),
        (
            RequestFingerprint(),
            FORM,
            "455ada79a7f0142bf1f8103d7dbf73993ff3c7323ebc5df2057716db57be53ec",
        ),
    ],
    ids=["default", "with-header", "canonical-json", "multipart"],
)
def test_a_request_fingerprints_as_it_did(
    fingerprint: RequestFingerprint, request_: Request, stored: str
) -> None:
    assert fingerprint(request_) == stored


def test_a_key_is_stored_under_the_lookup_key_it_had() -> None:
    assert (
        lookup_key(default_scope(ORDER), "k-1", None)
        == "2ecf79b15a6479ab463b5f25cf1a25d902276770c3a44b9a8d8716aeb2e36ede"
    )
    assert (
        lookup_key("user:42", "k-1", b"secret")
        == "c9877b0c5f25c2a1440d7fbc6461dce832d319194992f17a05c047b938b061e7"
    )
