"""Whose key is it: the caller's scope and the lookup key (SEMANTICS section 3)."""

from __future__ import annotations

import hashlib
import hmac
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.request import Request
from idempotency_middleware.scope import (
    ANONYMOUS_SCOPE,
    checked_scope,
    default_scope,
    lookup_key,
)

HEX64 = re.compile(r"[0-9a-f]{64}")


def caller(principal: str | None = None, authorization: str | None = None) -> Request:
    headers = () if authorization is None else (("authorization", authorization),)
    return Request("POST", "/orders", headers=headers, principal=principal)


SCOPE_CASES = [
    pytest.param(caller("alice", "Bearer t1"), "user:alice", id="principal-beats-authorization"),
    pytest.param(caller("alice"), "user:alice", id="principal"),
    pytest.param(caller("42"), "user:42", id="numeric-principal"),
    pytest.param(caller(None, None), ANONYMOUS_SCOPE, id="anonymous"),
    pytest.param(caller(None, ""), ANONYMOUS_SCOPE, id="empty-authorization"),
    pytest.param(
        caller(None, "Bearer t1"),
        "auth:" + hashlib.sha256(b"Bearer t1").hexdigest(),
        id="authorization-digest",
    ),
]


@pytest.mark.parametrize(("request_", "scope"), SCOPE_CASES)
def test_default_scope(request_: Request, scope: str) -> None:
    assert default_scope(request_) == scope


def test_anonymous_scope_name() -> None:
    assert ANONYMOUS_SCOPE == "anonymous"


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (caller(None, "Bearer t1"), caller(None, "Bearer t2")),
        (caller(None, "Bearer t1"), caller(None, None)),
        (caller("alice"), caller("bob")),
        (caller("alice"), caller(None, None)),
        (caller("alice"), caller(None, "alice")),
    ],
)
def test_different_callers_get_different_scopes_and_lookup_keys(one: Request, two: Request) -> None:
    assert default_scope(one) != default_scope(two)
    for secret in (None, b"s3cret"):
        assert lookup_key(default_scope(one), "k1", secret) != lookup_key(
            default_scope(two), "k1", secret
        )


def test_principal_ignores_authorization() -> None:
    assert default_scope(caller("alice", "Bearer old")) == default_scope(
        caller("alice", "Bearer refreshed")
    )


@pytest.mark.parametrize(
    "credential",
    [
        "Bearer eyJhbGciOiJIUzI1NiJ9.payload.signature",
        "Basic dXNlcjpodW50ZXIy",
        "Token abc123secret",
        "secret-without-scheme",
    ],
)
def test_raw_credential_never_appears_in_scope(credential: str) -> None:
    scope = default_scope(caller(None, credential))
    assert credential not in scope
    for part in credential.split():
        assert part not in scope
    assert scope.startswith("auth:")
    assert HEX64.fullmatch(scope.removeprefix("auth:"))


def framed(scope: str, key: str) -> bytes:
    s, k = scope.encode(), key.encode()
    return len(s).to_bytes(8, "big") + s + len(k).to_bytes(8, "big") + k


def test_lookup_key_without_secret_is_plain_sha256() -> None:
    # Every worker, now and after a restart, must derive the same lookup key.
    assert (
        lookup_key("user:alice", "k1", None)
        == hashlib.sha256(framed("user:alice", "k1")).hexdigest()
    )


def test_lookup_key_with_secret_is_hmac_sha256() -> None:
    expected = hmac.new(b"s3cret", framed("user:alice", "k1"), hashlib.sha256).hexdigest()
    assert lookup_key("user:alice", "k1", b"s3cret") == expected


@pytest.mark.parametrize(
    ("one", "two"),
    [
        (("ab", "c", None), ("a", "bc", None)),
        (("ab", "c", b"s"), ("a", "bc", b"s")),
        (("", "abc", None), ("abc", "", None)),
        (("scope", "k1", None), ("scope", "k1", b"s")),
        (("scope", "k1", b"s1"), ("scope", "k1", b"s2")),
        (("scope", "k1", None), ("scope", "k2", None)),
        (("scope-a", "k1", None), ("scope-b", "k1", None)),
    ],
)
def test_lookup_keys_that_differ(
    one: tuple[str, str, bytes | None], two: tuple[str, str, bytes | None]
) -> None:
    assert lookup_key(*one) != lookup_key(*two)


@given(st.text(), st.text(), st.one_of(st.none(), st.binary(min_size=1)))
def test_lookup_key_is_deterministic_hex(scope: str, key: str, secret: bytes | None) -> None:
    first = lookup_key(scope, key, secret)
    assert HEX64.fullmatch(first)
    assert lookup_key(scope, key, secret) == first


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_lookup_key_separates_scope_from_key(a: str, b: str, c: str, d: str) -> None:
    assert (lookup_key(a, b, None) == lookup_key(c, d, None)) is ((a, b) == (c, d))


@pytest.mark.parametrize(("value", "scope"), [(None, ANONYMOUS_SCOPE), ("tenant:a", "tenant:a")])
def test_a_scope_function_may_return_none_for_the_anonymous_scope(
    value: str | None, scope: str
) -> None:
    assert checked_scope(lambda request: value)(Request("POST", "/")) == scope


@pytest.mark.parametrize("value", [42, b"tenant:a", object()])
def test_a_scope_function_returning_anything_else_is_a_configuration_error(
    value: object,
) -> None:
    function = checked_scope(lambda request: value)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigurationError, match="scope function must return a str"):
        function(Request("POST", "/"))
