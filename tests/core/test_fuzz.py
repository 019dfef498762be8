"""Bad input, generated: every key source and the fingerprint take anything a client can
send and answer a valid key, no key or InvalidKeyError, never another exception
(SEMANTICS sections 2 and 4). Through the ASGI middleware, a bad key is 400
``key-invalid``, never a 5xx.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.fingerprint import RequestFingerprint
from idempotency_middleware.keys import InvalidKeyError, from_form, from_header, from_json
from idempotency_middleware.request import Request
from idempotency_middleware.stores import MemoryStore
from tests.asgi.conftest import http_scope, raw_app, run_asgi

HEX64 = re.compile(r"[0-9a-f]{64}")
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))

# Each class of bad key the contract names, and good ones, as header values.
KEY_VALUES = st.one_of(
    st.just(""),
    st.text(alphabet=PRINTABLE, min_size=256, max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1).map(lambda c: "k" + c),
    st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0xFF), min_size=1),
    st.text(alphabet=PRINTABLE, min_size=1, max_size=20).map(lambda k: f'"{k}"'),
    st.text(alphabet=PRINTABLE, min_size=1, max_size=20).map(lambda k: '"' + k),
    st.text(alphabet=PRINTABLE, min_size=1, max_size=20).map(lambda k: k + '\\"'),
    st.text(alphabet='"\\,ab ', min_size=1, max_size=12),
    st.text(alphabet=PRINTABLE, max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300),
)
LINES = st.lists(KEY_VALUES, min_size=1, max_size=3)


def is_valid_key(key: str) -> bool:
    return 1 <= len(key) <= 255 and all(" " <= char <= "~" for char in key)


@given(LINES)
@example(["abc", "abc"])
@example(['"a,b"'])
@example(['"a\\"b"'])
@example(['"abc'])
def test_the_header_source_gives_a_valid_key_or_invalid_key_error(values: list[str]) -> None:
    request = Request("POST", "/orders", headers=tuple(("idempotency-key", v) for v in values))
    try:
        key = from_header("Idempotency-Key")(request)
    except InvalidKeyError:
        return
    assert key is not None
    assert is_valid_key(key)
    assert len(values) == 1


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@given(st.one_of(st.binary(), JSON_VALUES.map(lambda v: json.dumps({"id": v}).encode())))
@example(b'{"id": "a\\u0000b"}')
@example(b'{"id": {"nested": 1}}')
def test_the_json_pointer_source_gives_a_key_none_or_invalid_key_error(body: bytes) -> None:
    request = Request("POST", "/orders", headers=(("content-type", "application/json"),), body=body)
    try:
        key = from_json("/id")(request)
    except InvalidKeyError:
        return
    assert key is None or is_valid_key(key)


BOUNDARIES = st.text(alphabet="abcXYZ019-'()+_,./:=? ", min_size=1, max_size=70)


def multipart(boundary: str, fields: list[tuple[str, bytes]], tail: bytes) -> bytes:
    parts = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name.encode(), value)
        for name, value in fields
    )
    return parts + b"--%s--\r\n" % boundary.encode() + tail


FORMS = st.builds(
    lambda boundary, fields, tail: (boundary, multipart(boundary, fields, tail)),
    BOUNDARIES,
    st.lists(st.tuples(st.sampled_from(["key", "item", "k\u00e9y"]), st.binary(max_size=300))),
    st.binary(max_size=20),
)


@given(FORMS, st.binary(max_size=100), st.sampled_from(["", "; charset=utf-8"]))
def test_the_form_source_gives_a_key_none_or_invalid_key_error(
    form: tuple[str, bytes], garbage: bytes, extra: str
) -> None:
    boundary, body = form
    for content_type, payload in (
        (f"multipart/form-data; boundary={boundary}{extra}", body),
        (f"multipart/form-data; boundary={boundary}", garbage),
        ("multipart/form-data", body),
        (f"application/x-www-form-urlencoded{extra}", garbage),
    ):
        request = Request("POST", "/", headers=(("content-type", content_type),), body=payload)
        try:
            key = from_form("key")(request)
        except InvalidKeyError:
            continue
        assert key is None or is_valid_key(key)


HEADERS = st.lists(
    st.tuples(
        st.sampled_from(["content-type", "x-tenant", "authorization", "idempotency-key"])
        | st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=10),
        st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60),
    ),
    max_size=6,
)
CONTENT_TYPES = st.sampled_from(
    ["", "application/json", "multipart/form-data; boundary=", "text/plain; charset=\xff"]
) | st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40)
FINGERPRINTS = [
    RequestFingerprint(),
    RequestFingerprint(canonical_json=True),
    RequestFingerprint(headers=("x-tenant", "authorization")),
]


@given(HEADERS, CONTENT_TYPES, st.binary() | FORMS.map(lambda form: form[1]))
def test_the_fingerprint_takes_anything_and_is_deterministic(
    headers: list[tuple[str, str]], content_type: str, body: bytes
) -> None:
    request = Request(
        "POST",
        "/orders",
        query_string="a=1&b=%ff&&=",
        headers=(("content-type", content_type), *headers),
        body=body,
    )
    for fingerprint in FINGERPRINTS:
        first = fingerprint(request)
        assert HEX64.fullmatch(first)
        assert fingerprint(replace(request)) == first


@given(HEADERS, st.binary(), st.binary())
def test_the_fingerprint_tells_bodies_apart(
    headers: list[tuple[str, str]], one: bytes, two: bytes
) -> None:
    request = Request("POST", "/orders", headers=(("content-type", "text/plain"), *headers))
    for fingerprint in (RequestFingerprint(), RequestFingerprint(headers=("x-tenant",))):
        same = fingerprint(replace(request, body=one)) == fingerprint(replace(request, body=two))
        assert same is (one == two)


@settings(max_examples=60, deadline=None)
@given(LINES.map(lambda values: [v.encode("latin-1") for v in values]))
@example([b"a" * 256])
@example([b"caf\xc3\xa9"])
@example([b"a\x00b"])
@example([b"one", b"two"])
def test_the_middleware_answers_a_bad_key_with_400_never_5xx(values: list[bytes]) -> None:
    calls: Counter[str] = Counter()
    app = IdempotencyMiddleware(raw_app(201, [], [b"made"], calls), store=MemoryStore())
    headers = [(b"idempotency-key", value) for value in values]
    try:
        key = from_header("Idempotency-Key")(
            Request(
                "POST", "/", headers=tuple((n.decode(), v.decode("latin-1")) for n, v in headers)
            )
        )
    except InvalidKeyError:
        key = None
    response = asyncio.run(run_asgi(app, http_scope(headers=headers), [b"{}"]))
    if key is None:
        assert response.status == 400
        problem = json.loads(response.body)
        assert problem["type"].rstrip("/").endswith("/key-invalid")
        assert calls["raw"] == 0
    else:
        assert response.status == 201
        assert calls["raw"] == 1
