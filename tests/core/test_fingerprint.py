"""Is a repeat the same request? (SEMANTICS section 4)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.fingerprint import (
    RequestFingerprint,
    canonical_query,
    digested,
    key_only,
)
from idempotency_middleware.options import Options
from idempotency_middleware.request import Request
from idempotency_middleware.stores import MemoryStore

HEX64 = re.compile(r"[0-9a-f]{64}")

BASE = Request(
    method="POST",
    path="/orders",
    query_string="a=1&b=2",
    headers=(
        ("content-type", "application/json"),
        ("idempotency-key", "k1"),
        ("x-tenant", "acme"),
    ),
    body=b'{"item": "book", "qty": 1}',
)


def with_header(request: Request, name: str, value: str) -> Request:
    headers = (*((n, v) for n, v in request.headers if n != name), (name, value))
    return replace(request, headers=headers)


# (variant of BASE, same fingerprint as BASE under the default RequestFingerprint?)
DEFAULT_CASES = [
    pytest.param(replace(BASE), True, id="identical"),
    pytest.param(replace(BASE, query_string="b=2&a=1"), True, id="query-order"),
    pytest.param(with_header(BASE, "idempotency-key", "k2"), True, id="other-key-header"),
    pytest.param(with_header(BASE, "x-tenant", "other"), True, id="unlisted-header"),
    pytest.param(with_header(BASE, "authorization", "Bearer t"), True, id="authorization"),
    pytest.param(
        with_header(BASE, "content-type", "Application/JSON"), True, id="content-type-case"
    ),
    pytest.param(replace(BASE, method="PATCH"), False, id="method"),
    pytest.param(replace(BASE, path="/orders/1"), False, id="path"),
    pytest.param(replace(BASE, path="/Orders"), False, id="path-case"),
    pytest.param(replace(BASE, query_string="a=1&b=3"), False, id="query-value"),
    pytest.param(replace(BASE, query_string="a=1"), False, id="query-missing-param"),
    pytest.param(replace(BASE, query_string=""), False, id="query-empty"),
    pytest.param(with_header(BASE, "content-type", "text/plain"), False, id="content-type"),
    pytest.param(replace(BASE, body=b'{"item": "book", "qty": 2}'), False, id="body"),
    pytest.param(replace(BASE, body=b'{"qty": 1, "item": "book"}'), False, id="json-key-order"),
    pytest.param(replace(BASE, body=b""), False, id="no-body"),
]


@pytest.mark.parametrize(("variant", "same"), DEFAULT_CASES)
def test_default_fingerprint(variant: Request, same: bool) -> None:
    fingerprint = RequestFingerprint()
    assert (fingerprint(variant) == fingerprint(BASE)) is same


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("", ""),
        ("a=1", "a=1"),
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1", "a=1&a=2"),
        ("a", "a="),
        ("q=a+b", "q=a+b"),
        ("q=a%20b", "q=a+b"),
    ],
)
def test_canonical_query(query: str, canonical: str) -> None:
    assert canonical_query(query) == canonical


def test_headers_option() -> None:
    fingerprint = RequestFingerprint(headers=["X-Tenant"])
    assert fingerprint(BASE) == fingerprint(replace(BASE))
    assert fingerprint(BASE) != fingerprint(with_header(BASE, "x-tenant", "other"))
    assert fingerprint(BASE) != RequestFingerprint()(BASE)
    # Other headers still do not count.
    assert fingerprint(BASE) == fingerprint(with_header(BASE, "x-other", "1"))


def test_headers_option_sees_every_line() -> None:
    fingerprint = RequestFingerprint(headers=["x-tenant"])
    one = replace(BASE, headers=(("x-tenant", "a"),))
    two = replace(BASE, headers=(("x-tenant", "a"), ("x-tenant", "b")))
    assert fingerprint(one) != fingerprint(two)


JSON_BODIES = [
    b'{"item":"book","qty":1}',
    b'{"qty": 1, "item": "book"}',
    b'{\n  "item": "book",\n  "qty": 1\n}\n',
    b'{"item":"b\\u006fok","qty":1}',
]


@pytest.mark.parametrize("body", JSON_BODIES)
def test_canonical_json_ignores_key_order_and_whitespace(body: bytes) -> None:
    fingerprint = RequestFingerprint(canonical_json=True)
    assert fingerprint(replace(BASE, body=body)) == fingerprint(replace(BASE, body=JSON_BODIES[0]))


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (b'{"qty": 1}', b'{"qty": 2}'),
        (b'{"qty": 1}', b'{"qty": "1"}'),
        (b"[1, 2]", b"[2, 1]"),
        (b'{"a": {"b": 1}}', b'{"a": {"b": 1, "c": 2}}'),
        (b"not json", b"not  json"),
    ],
)
def test_canonical_json_still_tells_documents_apart(one: bytes, two: bytes) -> None:
    fingerprint = RequestFingerprint(canonical_json=True)
    assert fingerprint(replace(BASE, body=one)) != fingerprint(replace(BASE, body=two))


def test_key_only_ignores_the_request() -> None:
    others = [
        BASE,
        replace(BASE, method="PATCH", path="/other", body=b"x"),
        Request("POST", "/"),
    ]
    assert {key_only(request) for request in others} == {"key-only"}


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (Request("POST", "/ab", body=b"c"), Request("POST", "/a", body=b"bc")),
        (Request("POST", "/a", query_string="b=c"), Request("POST", "/ab", query_string="=c")),
        (
            Request("POST", "/", headers=(("content-type", "text/a"),), body=b"b"),
            Request("POST", "/", headers=(("content-type", "text/"),), body=b"ab"),
        ),
        (Request("POS", "T/"), Request("POST", "/")),
    ],
)
def test_parts_are_length_prefixed(one: Request, two: Request) -> None:
    assert RequestFingerprint()(one) != RequestFingerprint()(two)


@given(st.binary())
def test_fingerprint_is_deterministic_hex(body: bytes) -> None:
    fingerprint = RequestFingerprint()
    first = fingerprint(replace(BASE, body=body))
    assert HEX64.fullmatch(first)
    assert fingerprint(replace(BASE, body=body)) == first
    assert RequestFingerprint()(replace(BASE, body=body)) == first


@given(st.binary(), st.binary())
def test_different_bodies_differ(one: bytes, two: bytes) -> None:
    fingerprint = RequestFingerprint()
    same = fingerprint(replace(BASE, body=one)) == fingerprint(replace(BASE, body=two))
    assert same is (one == two)


@given(st.binary())
def test_canonical_json_fingerprint_accepts_any_body(body: bytes) -> None:
    fingerprint = RequestFingerprint(canonical_json=True)
    assert HEX64.fullmatch(fingerprint(replace(BASE, body=body)))


def form_post(boundary: str, fields: dict[str, str]) -> Request:
    body = (
        b"".join(
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        + f"--{boundary}--\r\n".encode()
    )
    content_type = f"multipart/form-data; boundary={boundary}"
    return Request("POST", "/checkout", headers=(("content-type", content_type),), body=body)


def test_a_form_posted_twice_by_a_browser_is_the_same_request() -> None:
    # Browsers draw a new multipart boundary for every submission of one form.
    fields = {"idempotency_key": "k1", "item": "book"}
    first = form_post("----WebKitFormBoundaryAAAA", fields)
    second = form_post("----WebKitFormBoundaryBBBB", fields)
    other = form_post("----WebKitFormBoundaryBBBB", {**fields, "item": "lamp"})
    fingerprint = RequestFingerprint()
    assert first.body != second.body
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(other)


def test_a_form_with_lf_line_endings_is_hashed_part_by_part() -> None:
    def lf(request: Request) -> Request:
        return replace(request, body=request.body.replace(b"\r\n", b"\n"))

    fields = {"idempotency_key": "k1", "item": "book"}
    first = lf(form_post("AAAA", fields))
    second = lf(form_post("BBBB", fields))
    other = lf(form_post("BBBB", {**fields, "item": "lamp"}))
    fingerprint = RequestFingerprint()
    assert fingerprint(first) == fingerprint(second)
    assert fingerprint(first) != fingerprint(other)


@pytest.mark.parametrize("body", [b"no part here", b"--XyZ no part either", b"--XyZ--"])
def test_a_multipart_body_without_parts_is_hashed_as_it_is(body: bytes) -> None:
    request = form_post("XyZ", {})
    fingerprint = RequestFingerprint()
    assert fingerprint(replace(request, body=body)) != fingerprint(replace(request, body=b""))
    assert fingerprint(replace(request, body=body)) != fingerprint(
        replace(request, body=body + b"!")
    )


def test_a_json_body_too_deep_to_parse_is_hashed_as_it_is() -> None:
    deep = replace(BASE, body=b"[" * 100_000 + b"]" * 100_000)
    assert RequestFingerprint(canonical_json=True)(deep) == RequestFingerprint()(deep)


def _long(request: Request) -> str:
    return "x" * 100 + request.body.decode() + "x" * 100


@pytest.mark.parametrize("value", [None, 7, b"bytes"])
def test_a_fingerprint_function_must_return_a_str(value: object) -> None:
    fingerprint = Options.build(store=MemoryStore(), fingerprint=lambda request: value).fingerprint
    with pytest.raises(ConfigurationError, match=r"fingerprint.*must return a str"):
        fingerprint(BASE)


def test_what_a_fingerprint_function_returns_is_stored_as_a_digest() -> None:
    fingerprint = Options.build(store=MemoryStore(), fingerprint=_long).fingerprint
    other = replace(BASE, body=BASE.body + b" ")
    assert HEX64.fullmatch(fingerprint(BASE))
    assert fingerprint(BASE) == digested(_long)(BASE)
    assert fingerprint(BASE) != fingerprint(other)  # told apart after character 100


@pytest.mark.parametrize(
    ("option", "value"),
    [("key-only", "key-only"), (key_only, "key-only"), (None, RequestFingerprint()(BASE))],
)
def test_the_builtin_fingerprints_are_kept_as_they_are(option: object, value: str) -> None:
    # Records written before this version hold these values: a retry must still match.
    assert Options.build(store=MemoryStore(), fingerprint=option).fingerprint(BASE) == value
