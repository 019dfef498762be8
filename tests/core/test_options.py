"""Every option is checked at start-up (SEMANTICS section 7)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.fingerprint import RequestFingerprint, digested, key_only
from idempotency_middleware.keys import HeaderKey, from_form, from_json
from idempotency_middleware.options import Options
from idempotency_middleware.replay import DEFAULT_NOT_STORED
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope
from idempotency_middleware.stores import MemoryStore

STORE = MemoryStore()


def user_key(request: Request) -> str | None:
    return request.header("x-key")


def user_fingerprint(request: Request) -> str:
    return request.path


def user_scope(request: Request) -> str:
    return "tenant"


# (options besides store, text the message must hold: at least the option's name)
MISCONFIGURED: list[Any] = [
    pytest.param({"store": "memory://"}, ["store must be a Store", "MemoryStore"], id="store-str"),
    pytest.param({"store": object()}, ["store must be a Store"], id="store-object"),
    pytest.param({"store": MemoryStore}, ["store must be a Store"], id="store-class"),
    pytest.param(
        {"header": "X-Delivery", "key": from_json("/id")}, ["header=", "key="], id="header+key"
    ),
    pytest.param({"key": "X-Delivery"}, ["key must be a key source"], id="key-str"),
    pytest.param({"key": 42}, ["key must be a key source"], id="key-int"),
    pytest.param({"in_flight": "queue"}, ["in_flight", "'queue'"], id="in_flight"),
    pytest.param({"in_flight": "Wait"}, ["in_flight"], id="in_flight-case"),
    pytest.param({"on_store_error": "ignore"}, ["on_store_error"], id="on_store_error"),
    pytest.param({"on_store_error": True}, ["on_store_error"], id="on_store_error-bool"),
    pytest.param({"error_format": "json"}, ["error_format", "stripe"], id="error_format"),
    pytest.param({"error_format": "json"}, ["error_format", "callable"], id="error_format-how"),
    pytest.param({"ttl": 0}, ["ttl", "positive"], id="ttl-zero"),
    pytest.param({"ttl": -1}, ["ttl"], id="ttl-negative"),
    pytest.param({"ttl": "86400"}, ["ttl"], id="ttl-str"),
    pytest.param({"ttl": True}, ["ttl"], id="ttl-bool"),
    pytest.param({"ttl": float("nan")}, ["ttl"], id="ttl-nan"),
    pytest.param({"lease": 0}, ["lease", "positive"], id="lease-zero"),
    pytest.param({"lease": -60}, ["lease"], id="lease-negative"),
    pytest.param({"lease": None}, ["lease"], id="lease-none"),
    pytest.param({"wait_timeout": 0}, ["wait_timeout"], id="wait_timeout"),
    pytest.param({"max_request_bytes": 0}, ["max_request_bytes"], id="max_request_bytes"),
    pytest.param({"max_response_bytes": -1}, ["max_response_bytes"], id="max_response_bytes"),
    pytest.param({"max_key_length": 0}, ["max_key_length"], id="max_key_length"),
    pytest.param({"methods": "POST"}, ["methods", "['POST']"], id="methods-str"),
    pytest.param(
        {"store_validation_errors": "yes"},
        ["store_validation_errors", "True or False"],
        id="store_validation_errors-str",
    ),
    pytest.param({"fingerprint": "sha256"}, ["fingerprint", "'json'"], id="fingerprint-str"),
    pytest.param({"fingerprint": 1}, ["fingerprint"], id="fingerprint-int"),
    pytest.param({"scope": "user"}, ["scope"], id="scope-str"),
    pytest.param({"secret": ""}, ["secret"], id="secret-empty-str"),
    pytest.param({"secret": b""}, ["secret"], id="secret-empty-bytes"),
    pytest.param({"secret": 12345}, ["secret"], id="secret-int"),
    pytest.param({"fingerprint_headers": "X-Tenant"}, ["fingerprint_headers"], id="fp-headers-str"),
    pytest.param({"include": ["orders/{id}"]}, ["include", "'orders/{id}'"], id="include-no-slash"),
    pytest.param({"include": "/orders"}, ["include"], id="include-str"),
    pytest.param({"exclude": ["/x/{id:int}"]}, ["exclude"], id="exclude-malformed"),
    pytest.param({"required": ["/pay/{id"]}, ["required"], id="required-malformed"),
]


@pytest.mark.parametrize(("options", "message"), MISCONFIGURED)
def test_misconfiguration_names_the_option(options: dict[str, Any], message: list[str]) -> None:
    options = {"store": STORE, **options}
    with pytest.raises(ConfigurationError) as info:
        Options.build(**options)
    for text in message:
        assert text in str(info.value)
    assert isinstance(info.value, ValueError)


def test_store_is_required_and_the_message_names_the_choices() -> None:
    with pytest.raises(ConfigurationError, match="store is required") as info:
        Options.build()
    assert "MemoryStore" in str(info.value)
    assert "SQLAlchemyStore" in str(info.value)


def test_defaults() -> None:
    options = Options.build(store=STORE)
    assert options.store is STORE
    assert options.methods == frozenset({"POST", "PATCH"})
    assert options.ttl == 86_400
    assert options.lease == 60
    assert options.in_flight == "reject"
    assert options.wait_timeout == 30
    assert options.on_store_error == "fail_closed"
    assert options.max_request_bytes == 10 * 2**20
    assert options.max_response_bytes == 2**20
    assert options.not_stored == DEFAULT_NOT_STORED
    assert options.secret is None
    assert options.scope is default_scope
    assert isinstance(options.key, HeaderKey)
    assert options.key.name == "idempotency-key"
    assert options.key.max_length == 255
    assert options.key_needs_body is False
    assert isinstance(options.fingerprint, RequestFingerprint)
    assert options.fingerprint.canonical_json is False
    assert options.fingerprint.headers == ()
    assert not options.include
    assert not options.required
    assert not options.exclude


def test_owner_tokens_are_distinct_and_fit_every_store() -> None:
    options = Options.build(store=STORE)
    owners = {options.new_owner() for _ in range(100)}
    assert len(owners) == 100
    # The Django model's column holds 64 characters.
    assert all(re.fullmatch(r"[0-9a-f]{33,64}", owner) for owner in owners)


def test_given_options_are_compiled() -> None:
    options = Options.build(
        store=STORE,
        header="X-GitHub-Delivery",
        methods=["post", "Put"],
        ttl=3 * 86_400,
        lease=5,
        in_flight="wait",
        wait_timeout=2.5,
        on_store_error="fail_open",
        scope=user_scope,
        fingerprint="json",
        fingerprint_headers=["X-Tenant"],
        include=["/orders/{id}"],
        required=["/pay"],
        exclude=["/health"],
        secret="s3cret",
        max_key_length=64,
        not_stored=[404, 409],
    )
    assert options.methods == frozenset({"POST", "PUT"})
    assert (options.ttl, options.lease, options.wait_timeout) == (259_200.0, 5.0, 2.5)
    assert (options.in_flight, options.on_store_error) == ("wait", "fail_open")
    assert options.scope(Request("POST", "/")) == "tenant"
    assert isinstance(options.fingerprint, RequestFingerprint)
    assert options.fingerprint.canonical_json is True
    assert options.fingerprint.headers == ("x-tenant",)
    assert options.include.matches("/orders/1")
    assert options.required.matches("/pay")
    assert options.exclude.matches("/health")
    assert options.secret == b"s3cret"
    assert options.not_stored == frozenset({404, 409})
    assert isinstance(options.key, HeaderKey)
    assert (options.key.name, options.key.max_length) == ("x-github-delivery", 64)


@pytest.mark.parametrize(
    ("fingerprint", "expected"),
    [("key-only", key_only), (key_only, key_only)],
)
def test_fingerprint_choices(fingerprint: Any, expected: Any) -> None:
    assert Options.build(store=STORE, fingerprint=fingerprint).fingerprint is expected


def test_a_fingerprint_function_is_stored_as_a_digest() -> None:
    fingerprint = Options.build(store=STORE, fingerprint=user_fingerprint).fingerprint
    assert fingerprint(Request("POST", "/a")) == digested(user_fingerprint)(Request("POST", "/a"))


@pytest.mark.parametrize(
    ("key", "needs_body"),
    [(from_json("/id"), True), (from_form("k"), True), (user_key, True)],
)
def test_key_sources(key: Any, needs_body: bool) -> None:
    options = Options.build(store=STORE, key=key)
    assert options.key is key
    assert options.key_needs_body is needs_body


def test_secret_bytes_kept() -> None:
    assert Options.build(store=STORE, secret=b"\x00k").secret == b"\x00k"
