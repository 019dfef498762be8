"""Where the key comes from and what a valid key is (SEMANTICS section 2)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.keys import (
    DEFAULT_MAX_KEY_LENGTH,
    HEADER_KEY_PATTERN,
    InvalidKeyError,
    from_form,
    from_header,
    from_headers,
    from_json,
    parse_key,
    validate_key,
)
from idempotency_middleware.request import Request

PRINTABLE_ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def sf_string(key: str) -> str:
    """Serialise ``key`` as an RFC 9651 sf-string: quotes around, ``"`` and ``\\`` escaped."""
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- parse_key: one header value -> the key -----------------------------------------------

VALID_VALUES = [
    ("abc", "abc"),
    ('"abc"', "abc"),
    ('"a\\"b"', 'a"b'),
    ('"a\\\\b"', "a\\b"),
    ('"\\"\\\\"', '"\\'),
    # Starts with a letter, so it is a bare key; a quote is printable ASCII.
    ('abc"', 'abc"'),
    ('a"b"c', 'a"b"c'),
    ('"a,b"', "a,b"),
    ('", "', ", "),
    ('" "', " "),
    ("a b", "a b"),
    ("  abc\t", "abc"),
    ('\t "abc"  ', "abc"),
    ("550e8400-e29b-41d4-a716-446655440000", "550e8400-e29b-41d4-a716-446655440000"),
    ("~!#$%&'()*+-./:;<=>?@[]^_`{|}", "~!#$%&'()*+-./:;<=>?@[]^_`{|}"),
    ("a" * 255, "a" * 255),
    (sf_string("a" * 255), "a" * 255),
    # The length limit counts the key, not its escapes.
    (sf_string('"' * 255), '"' * 255),
]


@pytest.mark.parametrize(("value", "key"), VALID_VALUES)
def test_parse_key_valid(value: str, key: str) -> None:
    assert parse_key(value) == key


INVALID_VALUES = [
    ('"a\\nb"', "backslash"),
    ('"a\\tb"', "backslash"),
    ('"abc\\"', "no closing quote"),
    ('"abc\\', "backslash"),
    ('"abc', "no closing quote"),
    ('"', "no closing quote"),
    ('"abc"x', "after its closing quote"),
    ('"abc" "def"', "after its closing quote"),
    ('"a"b"', "after its closing quote"),
    ("", "empty"),
    ("   ", "empty"),
    ("\t", "empty"),
    ('""', "empty"),
    ("a" * 256, "256 characters; at most 255"),
    (sf_string("a" * 256), "256 characters; at most 255"),
    ("a\x00b", "control or non-ASCII"),
    ("a\x1fb", "control or non-ASCII"),
    ("a\x7fb", "control or non-ASCII"),
    ("a\nb", "control or non-ASCII"),
    ("a\tb", "control or non-ASCII"),
    ('"a\tb"', "control or non-ASCII"),
    ('"a\x00b"', "control or non-ASCII"),
    # Header values are decoded as Latin-1, so the UTF-8 bytes of "é" arrive as "Ã©".
    ("caf\xe9", "control or non-ASCII"),
    ("caf\xc3\xa9", "control or non-ASCII"),
    ('"caf\xe9"', "control or non-ASCII"),
    ("a,b", "comma"),
    ("abc, abc", "comma"),
    (",", "comma"),
]


@pytest.mark.parametrize(("value", "message"), INVALID_VALUES)
def test_parse_key_invalid(value: str, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message) as info:
        parse_key(value)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("value", "max_length", "expected"),
    [
        ("abcd", 4, "abcd"),
        ('"abcd"', 4, "abcd"),
        ('"a\\"cd"', 4, 'a"cd'),
        ("abcde", 4, None),
        ('"abcde"', 4, None),
    ],
)
def test_parse_key_max_length(value: str, max_length: int, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(InvalidKeyError, match=f"at most {max_length}"):
            parse_key(value, max_length=max_length)
    else:
        assert parse_key(value, max_length=max_length) == expected


def test_default_max_key_length_is_255() -> None:
    assert DEFAULT_MAX_KEY_LENGTH == 255
    assert validate_key("k" * 255) == "k" * 255
    with pytest.raises(InvalidKeyError):
        validate_key("k" * 256)


BARE_ALPHABET = PRINTABLE_ASCII.replace(",", "")


@given(
    st.text(alphabet=BARE_ALPHABET, min_size=1, max_size=255).filter(
        # A bare key is one that does not start with a quote; HTTP drops the optional
        # whitespace around a field value, so a key cannot begin or end with it.
        lambda s: not s.startswith('"') and s == s.strip(" \t")
    )
)
def test_bare_key_round_trips(key: str) -> None:
    assert parse_key(key) == key
    # The OpenAPI schema admits every bare key.
    assert re.fullmatch(HEADER_KEY_PATTERN, key)


@given(st.from_regex(HEADER_KEY_PATTERN, fullmatch=True).filter(lambda s: len(s) <= 255))
def test_every_value_the_header_pattern_admits_is_a_key(value: str) -> None:
    parse_key(value)


@pytest.mark.parametrize(
    "value", ["", " ", "a,b", " a", "a ", '"', '""', '"a', '"a"b"', '"a\\b"', "caf\u00e9", "a\x00b"]
)
def test_the_header_pattern_refuses_what_parse_key_refuses_or_changes(value: str) -> None:
    assert not re.fullmatch(HEADER_KEY_PATTERN, value)


@given(st.text(alphabet=PRINTABLE_ASCII, min_size=1, max_size=255))
def test_sf_string_key_round_trips(key: str) -> None:
    assert parse_key(sf_string(key)) == key


@given(st.text(alphabet=BARE_ALPHABET, min_size=1, max_size=255))
def test_bare_and_quoted_spell_the_same_key(key: str) -> None:
    bare = key.strip(" \t")
    if bare and not bare.startswith('"'):
        assert parse_key(bare) == parse_key(sf_string(bare))


@given(st.text())
def test_parse_key_raises_only_invalid_key_error(value: str) -> None:
    try:
        key = parse_key(value)
    except InvalidKeyError:
        return
    assert 1 <= len(key) <= 255
    assert all(" " <= char <= "~" for char in key)


# --- HeaderKey: the key from a request header --------------------------------------------


def with_headers(*headers: tuple[str, str]) -> Request:
    return Request("POST", "/orders", headers=headers)


HEADER_CASES: list[tuple[Request, str | None]] = [
    (with_headers(), None),
    (with_headers(("content-type", "application/json")), None),
    (with_headers(("idempotency-key", "abc")), "abc"),
    (with_headers(("idempotency-key", '"abc"')), "abc"),
    (with_headers(("x-other", "1"), ("idempotency-key", "k-1")), "k-1"),
]


@pytest.mark.parametrize(("request_", "key"), HEADER_CASES)
def test_header_key(request_: Request, key: str | None) -> None:
    assert from_header("Idempotency-Key")(request_) == key


@pytest.mark.parametrize(
    "request_",
    [
        with_headers(("idempotency-key", "abc"), ("idempotency-key", "abc")),
        with_headers(("idempotency-key", "abc"), ("idempotency-key", "def")),
        with_headers(("idempotency-key", '"a"'), ("x", "1"), ("idempotency-key", '"b"')),
    ],
)
def test_header_sent_several_times_is_invalid(request_: Request) -> None:
    with pytest.raises(InvalidKeyError, match="sent 2 times"):
        from_header("Idempotency-Key")(request_)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (with_headers(("idempotency-key", "")), "empty"),
        (with_headers(("idempotency-key", "a,b")), "comma"),
        (with_headers(("idempotency-key", "x" * 256)), "at most 255"),
    ],
)
def test_header_present_but_invalid(request_: Request, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message):
        from_header("Idempotency-Key")(request_)


def test_other_header_name_any_case() -> None:
    source = from_header("X-GitHub-Delivery")
    request = with_headers(("idempotency-key", "ignored"), ("x-github-delivery", "d-42"))
    assert source(request) == "d-42"
    assert source(with_headers(("idempotency-key", "ignored"))) is None


def test_header_key_max_length() -> None:
    source = from_header("Idempotency-Key", max_length=8)
    assert source(with_headers(("idempotency-key", "12345678"))) == "12345678"
    with pytest.raises(InvalidKeyError, match="at most 8"):
        source(with_headers(("idempotency-key", "123456789")))


def test_header_key_does_not_need_the_body() -> None:
    assert from_header("Idempotency-Key").needs_body is False
    assert from_json("/id").needs_body is True
    assert from_form("key").needs_body is True


# --- JsonPointerKey: the key from a field of a JSON body ---------------------------------


def json_request(body: bytes) -> Request:
    return Request("POST", "/events", headers=(("content-type", "application/json"),), body=body)


JSON_CASES: list[tuple[str, bytes, str | None]] = [
    ("/id", b'{"id": "evt_1"}', "evt_1"),
    ("/id", b'{"id": 42}', "42"),
    ("/id", b'{"id": -7}', "-7"),
    ("/id", b'{"id": null}', None),
    ("/id", b'{"other": "x"}', None),
    ("/id", b"", None),
    ("/id", b"[1, 2]", None),
    ("/id", b'"id"', None),
    ("/data/object/id", b'{"data": {"object": {"id": "pi_1"}}}', "pi_1"),
    ("/data/object/id", b'{"data": {"object": "pi_1"}}', None),
    ("/a~1b", b'{"a/b": "slash"}', "slash"),
    ("/a~0b", b'{"a~b": "tilde"}', "tilde"),
    # ~1 is unescaped before ~0, so "~01" is the member "~1", not "/".
    ("/~01", b'{"~1": "right", "/": "wrong"}', "right"),
    ("/items/1/id", b'{"items": [{"id": "k0"}, {"id": "k1"}]}', "k1"),
    ("/items/0", b'{"items": ["first"]}', "first"),
    ("/items/2", b'{"items": ["a", "b"]}', None),
    ("/items/-", b'{"items": ["a"]}', None),
    ("/items/x", b'{"items": ["a"]}', None),
    ("/", b'{"": "empty-name"}', "empty-name"),
]


@pytest.mark.parametrize(("pointer", "body", "key"), JSON_CASES)
def test_json_pointer_key(pointer: str, body: bytes, key: str | None) -> None:
    assert from_json(pointer)(json_request(body)) == key


JSON_INVALID: list[tuple[str, bytes, str]] = [
    ("/id", b'{"id": {"a": 1}}', "is a dict; it must be a string"),
    ("/id", b'{"id": [1]}', "is a list; it must be a string"),
    ("/id", b'{"id": true}', "is a bool; it must be a string"),
    ("/id", b'{"id": false}', "is a bool; it must be a string"),
    ("/id", b'{"id": 1.5}', "is a float; it must be a string"),
    ("/id", b'{"id": ""}', "empty"),
    ("/id", b'{"id": "a\\u0000b"}', "control or non-ASCII"),
    ("/id", b'{"id": "caf\\u00e9"}', "control or non-ASCII"),
    ("/id", json.dumps({"id": "x" * 256}).encode(), "at most 255"),
    ("/id", b"not json", "not valid JSON"),
    ("/id", b'{"id": "abc"', "not valid JSON"),
    ("/id", b"id=abc", "not valid JSON"),
    ("/id", b"\x80\x81", "not valid JSON"),
    ("/id", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("/id", b'{"id": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
]


@pytest.mark.parametrize(("pointer", "body", "message"), JSON_INVALID)
def test_json_pointer_key_invalid(pointer: str, body: bytes, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message):
        from_json(pointer)(json_request(body))


def test_body_not_json_detail_tells_the_client_what_to_do() -> None:
    with pytest.raises(InvalidKeyError) as info:
        from_json("/id")(json_request(b"<xml/>"))
    detail = str(info.value)
    assert "/id" in detail
    assert "send a JSON body" in detail


def test_json_pointer_must_start_with_slash() -> None:
    # A misconfiguration: SEMANTICS 7 wants the typed ConfigurationError at start-up.
    with pytest.raises(ConfigurationError, match="'id'"):
        from_json("id")


# --- FormFieldKey: the key from an HTML form ---------------------------------------------

BOUNDARY = "----formboundary7MA4YWxkTrZu0gW"


def multipart(fields: list[tuple[str, str | bytes, str | None]], boundary: str = BOUNDARY) -> bytes:
    """An RFC 7578 body: (name, value, filename or None) per part, as browsers send it."""
    out = b""
    for name, value, filename in fields:
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"\r\nContent-Type: text/plain'
        data = value.encode() if isinstance(value, str) else value
        out += f"--{boundary}\r\n{disposition}\r\n\r\n".encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def form_request(content_type: str | None, body: bytes) -> Request:
    headers = () if content_type is None else (("content-type", content_type),)
    return Request("POST", "/buy", headers=headers, body=body)


URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

FORM_CASES: list[tuple[Request, str | None]] = [
    (form_request(URLENCODED, b"idempotency_key=abc&qty=1"), "abc"),
    (form_request(URLENCODED, b"qty=1&idempotency_key=abc"), "abc"),
    (form_request(URLENCODED + "; charset=UTF-8", b"idempotency_key=abc"), "abc"),
    (form_request("Application/X-WWW-Form-Urlencoded", b"idempotency_key=abc"), "abc"),
    (form_request(URLENCODED, b"idempotency_key=a%2Cb+c"), "a,b c"),
    (form_request(URLENCODED, b"qty=1"), None),
    (form_request(URLENCODED, b""), None),
    (form_request(URLENCODED, b"my_idempotency_key=abc"), None),
    (form_request(MULTIPART, multipart([("idempotency_key", "abc", None)])), "abc"),
    (
        form_request(
            MULTIPART,
            multipart([("qty", "1", None), ("idempotency_key", "k-2", None), ("n", "x", None)]),
        ),
        "k-2",
    ),
    (
        form_request(
            f'multipart/form-data; boundary="{BOUNDARY}"',
            multipart([("idempotency_key", "quoted-boundary", None)]),
        ),
        "quoted-boundary",
    ),
    (
        form_request(
            MULTIPART,
            multipart([("qty", "1", None), ("idempotency_key", "lf", None)]).replace(
                b"\r\n", b"\n"
            ),
        ),
        "lf",
    ),
    (form_request(MULTIPART, multipart([("qty", "1", None)])), None),
    (form_request(MULTIPART, multipart([("my_idempotency_key", "abc", None)])), None),
    # A file upload named like the field is not the field.
    (form_request(MULTIPART, multipart([("idempotency_key", "abc", "key.txt")])), None),
    (form_request("application/json", b'{"idempotency_key": "abc"}'), None),
    (form_request("text/plain", b"idempotency_key=abc"), None),
    (form_request(None, b"idempotency_key=abc"), None),
]


@pytest.mark.parametrize(("request_", "key"), FORM_CASES)
def test_form_field_key(request_: Request, key: str | None) -> None:
    assert from_form("idempotency_key")(request_) == key


FORM_INVALID: list[Any] = [
    (form_request(URLENCODED, b"idempotency_key=a&idempotency_key=b"), "sent 2 times"),
    (form_request(URLENCODED, b"idempotency_key=a&idempotency_key=a"), "sent 2 times"),
    (form_request(URLENCODED, b"idempotency_key="), "empty"),
    (form_request(URLENCODED, b"idempotency_key=caf%C3%A9"), "control or non-ASCII"),
    (form_request(URLENCODED, b"idempotency_key=a%00b"), "control or non-ASCII"),
    (form_request(URLENCODED, b"idempotency_key=\xff"), "not UTF-8"),
    (form_request(MULTIPART, multipart([("idempotency_key", "", None)])), "empty"),
    (form_request(MULTIPART, multipart([("idempotency_key", "x" * 256, None)])), "at most 255"),
    (
        form_request(MULTIPART, multipart([("idempotency_key", b"\xff\xfe", None)])),
        "not UTF-8",
    ),
    (form_request("multipart/form-data", multipart([("idempotency_key", "a", None)])), "boundary"),
    # Two values for one field: which one is the key? Never silently pick one
    # (the urlencoded form above is rejected the same way).
    pytest.param(
        form_request(
            MULTIPART,
            multipart([("idempotency_key", "a", None), ("idempotency_key", "b", None)]),
        ),
        "sent 2 times",
        id="multipart-field-repeated",
    ),
]


@pytest.mark.parametrize(("request_", "message"), FORM_INVALID)
def test_form_field_key_invalid(request_: Request, message: str) -> None:
    with pytest.raises(InvalidKeyError, match=message):
        from_form("idempotency_key")(request_)


def test_form_field_max_length() -> None:
    source = from_form("k", max_length=3)
    assert source(form_request(URLENCODED, b"k=abc")) == "abc"
    with pytest.raises(InvalidKeyError, match="at most 3"):
        source(form_request(URLENCODED, b"k=abcd"))


@pytest.mark.parametrize(
    ("source", "text"),
    [
        (from_header("X-Delivery"), "from_header('x-delivery')"),
        (from_json("/id"), "from_json('/id')"),
        (from_form("k"), "from_form('k')"),
        (from_headers("webhook-id", "svix-id"), "from_headers('webhook-id', 'svix-id')"),
    ],
)
def test_key_source_repr(source: object, text: str) -> None:
    assert repr(source) == text


def test_multipart_helper_builds_browser_bodies() -> None:
    # The helper itself: one part, then the closing delimiter.
    body = multipart([("a", "1", None)], boundary="B")
    assert body == b'--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B--\r\n'


def test_request_json_cache_does_not_outlive_its_body() -> None:
    # Request is a frozen value: a copy with another body must not answer the old JSON.
    first = json_request(b'{"id": "first"}')
    assert from_json("/id")(first) == "first"
    second = replace(first, body=b'{"id": "second"}')
    assert from_json("/id")(second) == "second"


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ((), None),
        ((("svix-id", "msg_1"),), "msg_1"),
        ((("webhook-id", "msg_1"),), "msg_1"),
        ((("webhook-id", "msg_1"), ("svix-id", "msg_1")), "msg_1"),
    ],
)
def test_headers_key_reads_whichever_header_is_present(
    lines: tuple[tuple[str, str], ...], key: str | None
) -> None:
    assert from_headers("webhook-id", "svix-id")(Request("POST", "/", headers=lines)) == key


def test_headers_key_with_two_different_values_is_invalid() -> None:
    lines = (("webhook-id", "msg_1"), ("svix-id", "msg_2"))
    with pytest.raises(InvalidKeyError, match="webhook-id and svix-id"):
        from_headers("webhook-id", "svix-id")(Request("POST", "/", headers=lines))


def test_headers_key_needs_a_name() -> None:
    with pytest.raises(ConfigurationError, match="at least one header name"):
        from_headers()
