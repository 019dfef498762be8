"""Whose key it is, and what never reaches the logs or the store (SEMANTICS section 3)."""

from __future__ import annotations

import hashlib
import logging

import pytest

from idempotency_middleware import Request
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores.base import RecordCounts
from tests.behaviour.client import Client, assert_problem
from tests.behaviour.conftest import MakeClient


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}")]


def _auth_scope(token: str) -> str:
    return "auth:" + hashlib.sha256(f"Bearer {token}".encode()).hexdigest()


def test_callers_never_see_each_others_records(store_client: Client) -> None:
    client = store_client
    alice = client.post("/echo", "shared-key", headers=_bearer("alice"))
    bob = client.post("/echo", "shared-key", headers=_bearer("bob"))
    alice_again = client.post("/echo", "shared-key", headers=_bearer("alice"))
    assert bob.status == 201
    assert not bob.replayed
    assert bob.json()["run"] == 2
    assert alice_again.replayed
    assert alice_again.body == alice.body
    assert client.store.stats() == RecordCounts(in_progress=0, completed=2, expired=0)
    assert client.record("shared-key", _auth_scope("alice")) is not None
    assert client.record("shared-key", _auth_scope("bob")) is not None
    assert not client.post("/echo", "shared-key").replayed  # anonymous
    assert client.runs["echo"] == 3


def test_another_callers_key_is_no_mismatch(store_client: Client) -> None:
    client = store_client
    client.post("/echo", "tenant-key", headers=_bearer("alice"))
    # Another body under the same key is 422 for alice, and a first request for bob.
    assert_problem(
        client.post("/echo", "tenant-key", b'{"x": 1}', _bearer("alice")), 422, "key-reused"
    )
    assert client.post("/echo", "tenant-key", b'{"x": 1}', _bearer("bob")).status == 201
    assert client.runs["echo"] == 2


def _tenant(request: Request) -> str:
    return "tenant:" + (request.header("x-tenant") or "none")


def test_a_scope_function_decides_whose_key_it_is(make_client: MakeClient) -> None:
    client = make_client(scope=_tenant)
    client.post("/echo", "k", headers=[("X-Tenant", "a"), *_bearer("one")])
    # The same tenant with a refreshed token: the same scope.
    assert client.post("/echo", "k", headers=[("X-Tenant", "a"), *_bearer("two")]).replayed
    assert not client.post("/echo", "k", headers=[("X-Tenant", "b")]).replayed
    assert client.record("k", "tenant:a") is not None


def test_no_log_record_holds_the_key_the_credential_or_the_body(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    key, token, body = "raw-key-7f3a", "credential-91c2", b'{"card": "body-secret-55e1"}'
    caplog.set_level(logging.DEBUG, logger="idempotency_middleware")
    client.post("/echo", key, body, _bearer(token))  # executed
    client.post("/echo", key, body, _bearer(token))  # replayed
    client.post("/echo", key, b'{"card": "body-secret-other"}', _bearer(token))  # mismatch
    client.post("/echo", "raw-key,invalid", body, _bearer(token))  # key-invalid
    client.post("/status/503", key + "-5xx", body, _bearer(token))  # released
    records = [r for r in caplog.records if r.name.startswith("idempotency_middleware")]
    assert records  # the outcomes are logged, as digests
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        for secret in ("raw-key", "credential-91c2", "body-secret"):
            assert secret not in text, record


def test_credentials_and_cookies_never_reach_the_store(store_client: Client) -> None:
    client = store_client
    client.post("/echo", "stored-1", headers=_bearer("top-secret-token"))
    record = client.record("stored-1", _auth_scope("top-secret-token"))
    assert record is not None
    assert "top-secret-token" not in repr(record)
    assert "secret-1" not in repr(record)  # the session cookie


def test_the_lookup_key_is_an_hmac_with_the_secret(make_client: MakeClient) -> None:
    client = make_client(secret="behaviour-secret")
    client.post("/echo", "hmac-1")
    assert client.record("hmac-1") is not None  # under the HMAC
    assert client.store.get(lookup_key(ANONYMOUS_SCOPE, "hmac-1", None)) is None


def _nobody(request: Request) -> str | None:
    return None


def test_a_scope_function_returning_none_means_the_anonymous_scope(
    make_client: MakeClient,
) -> None:
    client = make_client(scope=_nobody)
    first = client.post("/echo", "none-1")
    assert first.status == 201
    assert client.post("/echo", "none-1").replayed
    assert client.record("none-1", ANONYMOUS_SCOPE) is not None
    assert client.runs["echo"] == 1


def _numbered(request: Request) -> int:
    return 42


def test_a_scope_function_returning_no_str_runs_nothing(make_client: MakeClient) -> None:
    client = make_client(scope=_numbered)
    assert client.post("/echo", "int-1").status == 500  # the server's own error page
    assert client.runs["echo"] == 0
    assert client.record("int-1", "42") is None
