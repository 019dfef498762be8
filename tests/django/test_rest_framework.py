"""Django REST framework's token authentication, which runs in the view, after the
middleware (SEMANTICS section 3), and the CLI's ``--scope`` for its callers."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError
from django.test import override_settings
from rest_framework.authtoken.models import Token

from tests.django import views
from tests.django.clients import ClientTestCase
from tests.django.test_commands import idempotency
from tests.support.replays import is_replay

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})
TOKEN_USER_SCOPE = "integrations.snippets.drf_scope.token_user_scope"


class TokenAuthenticationTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.ann = User.objects.create_user("ann")
        self.bob = User.objects.create_user("bob")

    def order(self, user: User, key: str) -> tuple[bool, dict[str, int]]:
        """POST an order with ``user``'s token: whether it was a replay, and its body."""
        token = Token.objects.get_or_create(user=user)[0].key
        response = self.post(
            "/drf/token-orders", ORDER, key=key, headers={"Authorization": f"Token {token}"}
        )
        assert response.status_code == 201, response
        return is_replay(response), json.loads(response.content)  # type: ignore[attr-defined]

    def new_token(self, user: User) -> None:
        Token.objects.filter(user=user).delete()

    def test_by_default_a_token_scopes_its_callers_keys(self) -> None:
        assert self.order(self.ann, "k") == (False, {"run": 1, "user": self.ann.pk})
        assert self.order(self.ann, "k") == (True, {"run": 1, "user": self.ann.pk})
        assert self.order(self.bob, "k") == (False, {"run": 2, "user": self.bob.pk})
        ann_token = Token.objects.get(user=self.ann).key
        assert "state: completed" in idempotency("show", "k", "--scope", f"auth:Token {ann_token}")
        with pytest.raises(CommandError, match="no record"):
            idempotency("show", "k", "--scope", f"user:{self.ann.pk}")
        # A new token is a new scope: the key runs again.
        self.new_token(self.ann)
        assert self.order(self.ann, "k") == (False, {"run": 3, "user": self.ann.pk})
        assert views.calls["drf-token"] == 3

    @override_settings(IDEMPOTENCY_SCOPE=TOKEN_USER_SCOPE)
    def test_the_token_user_scope_files_keys_under_the_user(self) -> None:
        assert self.order(self.ann, "k") == (False, {"run": 1, "user": self.ann.pk})
        assert self.order(self.bob, "k") == (False, {"run": 2, "user": self.bob.pk})
        assert "state: completed" in idempotency("show", "k", "--scope", f"user:{self.ann.pk}")
        # The user's scope outlives the token.
        self.new_token(self.ann)
        assert self.order(self.ann, "k") == (True, {"run": 1, "user": self.ann.pk})
        assert views.calls["drf-token"] == 2

    @override_settings(IDEMPOTENCY_SCOPE=TOKEN_USER_SCOPE)
    def test_an_unknown_token_is_refused_by_the_view_and_not_stored(self) -> None:
        headers = {"Authorization": "Token not-a-token"}
        for _ in range(2):
            refused = self.post("/drf/token-orders", ORDER, key="k", headers=headers)
            assert refused.status_code == 401
            assert not is_replay(refused)
        assert views.calls["drf-token"] == 0


class AsyncTokenAuthenticationTests(TokenAuthenticationTests):
    asynchronous = True
