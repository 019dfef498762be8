"""Whose key it is under Flask: Flask-Login's user, else the Authorization header
(SEMANTICS section 3)."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient

from tests.flask.conftest import Shop


def logged_in(shop: Shop, user_id: str) -> FlaskClient:
    client = shop.app.test_client()
    assert client.get(f"/login/{user_id}").status_code == 200
    return client


def post(client: FlaskClient, key: str) -> bytes:
    response = client.post("/orders", data=b"{}", headers={"Idempotency-Key": key})
    assert response.status_code == 201
    return bytes(response.data)


def test_two_users_with_one_key_each_run_once(shop: Shop) -> None:
    alice, bob = logged_in(shop, "41"), logged_in(shop, "42")
    alice_first, bob_first = post(alice, "k1"), post(bob, "k1")
    alice_again, bob_again = post(alice, "k1"), post(bob, "k1")

    assert shop.calls["/orders"] == 2
    assert alice_first != bob_first
    assert (alice_again, bob_again) == (alice_first, bob_first)
    assert shop.record("k1", "user:41") is not None
    assert shop.record("k1", "user:42") is not None
    assert shop.record("k1") is None


def test_a_logged_in_user_is_one_scope_across_sessions(shop: Shop) -> None:
    # The scope is the user id, not the session: a second device shares the records.
    first = post(logged_in(shop, "42"), "k1")
    second = post(logged_in(shop, "42"), "k1")
    assert first == second
    assert shop.calls["/orders"] == 1


def test_the_authorization_header_scopes_anonymous_users(shop: Shop) -> None:
    def post_as(token: str) -> bytes:
        response = shop.post("/orders", "k1", headers={"Authorization": f"Bearer {token}"})
        return bytes(response.data)

    one, two, one_again = post_as("one"), post_as("two"), post_as("one")
    assert shop.calls["/orders"] == 2
    assert one_again == one != two
    digest = hashlib.sha256(b"Bearer one").hexdigest()
    assert shop.record("k1", f"auth:{digest}") is not None


def test_the_login_cookie_is_not_stored_nor_replayed(shop: Shop) -> None:
    alice = logged_in(shop, "41")
    post(alice, "k1")
    replay = alice.post("/orders", data=b"{}", headers={"Idempotency-Key": "k1"})
    assert "Set-Cookie" not in replay.headers
    record = shop.record("k1", "user:41")
    assert record is not None
    assert record.response is not None
    assert b"set-cookie" not in dict(record.response.headers)
