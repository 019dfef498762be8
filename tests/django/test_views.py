"""``@idempotency_exempt`` and ``@idempotency_required`` on function views, class-based
views and Django REST framework views and viewsets (SEMANTICS section 1)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from idempotency_middleware import ConfigurationError
from idempotency_middleware.django import idempotency_required
from tests.django import views
from tests.django.clients import ClientTestCase, assert_problem
from tests.support.replays import is_replay

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})


class SyncViewTests(ClientTestCase):
    def runs(self, path: str, *, method: str = "POST", key: str | None = "key-1") -> int:
        """Send the same request twice; how many replays came back."""
        return sum(is_replay(self.send(method, path, ORDER, key=key)) for _ in range(2))

    def test_an_exempt_function_view_runs_every_time(self) -> None:
        assert self.runs("/exempt") == 0
        assert views.calls["exempt"] == 2

    def test_a_required_function_view_answers_400_without_a_key(self) -> None:
        problem = assert_problem(self.post("/required", ORDER), 400, "key-missing")
        assert "Idempotency-Key" in problem["detail"]
        assert views.calls["required"] == 0
        assert self.runs("/required") == 1

    def test_class_based_views(self) -> None:
        assert self.runs("/cbv/plain") == 1
        assert self.runs("/cbv/exempt") == 0
        assert self.runs("/cbv/exempt-dispatch") == 0
        assert views.calls["cbv-exempt"] == views.calls["cbv-exempt-dispatch"] == 2

    def test_a_required_method_of_a_class_based_view(self) -> None:
        assert_problem(self.post("/cbv/required-post", ORDER), 400, "key-missing")
        # PATCH is covered but its handler does not require a key.
        assert self.send("PATCH", "/cbv/required-post", ORDER).status_code == 201
        assert self.runs("/cbv/required-post") == 1

    def test_rest_framework_view_and_viewset_actions(self) -> None:
        assert_problem(self.post("/drf/view", ORDER), 400, "key-missing")
        first = self.post("/drf/view", ORDER, key="drf-1")
        second = self.post("/drf/view", ORDER, key="drf-1")
        assert json.loads(second.content) == json.loads(first.content) == {"run": 1}  # type: ignore[attr-defined]
        assert is_replay(second)

        assert_problem(self.post("/drf/things", ORDER), 400, "key-missing")
        assert self.runs("/drf/things") == 1
        assert self.runs("/drf/things/7", method="PATCH") == 0
        assert views.calls["drf-create"] == 1
        assert views.calls["drf-update"] == 2

    @override_settings(IDEMPOTENCY_EXCLUDE=["/required"])
    def test_a_view_decorator_wins_over_the_settings(self) -> None:
        # Excluded by path in the settings, required by its decorator: required.
        assert_problem(self.post("/required", ORDER), 400, "key-missing")
        assert self.runs("/required") == 1

    def test_a_view_can_read_its_key_from_its_own_source(self) -> None:
        assert_problem(self.post("/delivery", ORDER, key="key-1"), 400, "key-missing")
        delivered = {"X-Delivery-Id": "delivery-1"}
        assert not is_replay(self.post("/delivery", ORDER, headers=delivered))
        assert is_replay(self.post("/delivery", ORDER, headers=delivered))
        assert views.calls["delivery"] == 1


class AsyncViewTests(SyncViewTests):
    asynchronous = True


def test_wrong_view_options_fail_where_the_view_is_defined() -> None:
    with pytest.raises(ConfigurationError, match="in_flight"):
        idempotency_required(in_flight="sometimes")
    with pytest.raises(ConfigurationError, match="store"):
        idempotency_required(store=None)
