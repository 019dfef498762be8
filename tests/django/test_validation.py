"""A request Django REST framework rejects with its validation 400 (``ValidationError``,
``ParseError``) is not stored by default, as Stripe does: the corrected retry with the
same key runs. A 400 the view answers itself is stored like any other (SEMANTICS 5)."""

from __future__ import annotations

import json

from django.test import override_settings

from tests.django import views
from tests.django.clients import ClientTestCase, assert_problem
from tests.support.replays import is_replay

INVALID = json.dumps({"item": "annual plan"})
VALID = json.dumps({"item": "annual plan", "amount": 19_900})


class ValidationTests(ClientTestCase):
    def test_the_retry_corrected_after_validation_runs(self) -> None:
        invalid = self.post("/drf/orders", INVALID, key="K")
        corrected = self.post("/drf/orders", VALID, key="K")
        again = self.post("/drf/orders", VALID, key="K")

        assert invalid.status_code == 400
        assert "amount" in json.loads(invalid.content)  # type: ignore[attr-defined]
        assert corrected.status_code == 201, corrected.content  # type: ignore[attr-defined]
        assert is_replay(again)
        assert views.calls["drf-orders"] == 1

    def test_a_body_drf_cannot_parse_is_not_stored(self) -> None:
        assert self.post("/drf/orders", "{not json", key="P").status_code == 400
        assert self.post("/drf/orders", VALID, key="P").status_code == 201
        assert views.calls["drf-orders"] == 1

    def test_a_400_the_view_answers_after_it_ran_is_stored(self) -> None:
        first = self.post("/drf/refunds", VALID, key="R")
        retry = self.post("/drf/refunds", VALID, key="R")

        assert first.status_code == retry.status_code == 400
        assert is_replay(retry)
        assert views.calls["drf-refunds"] == 1

    @override_settings(IDEMPOTENCY_STORE_VALIDATION_ERRORS=True)
    def test_the_setting_stores_validation_errors(self) -> None:
        self.post("/drf/orders", INVALID, key="K")
        repeated = self.post("/drf/orders", INVALID, key="K")
        corrected = self.post("/drf/orders", VALID, key="K")

        assert is_replay(repeated)
        assert_problem(corrected, 422, "key-reused")
        assert views.calls["drf-orders"] == 0


class AsyncValidationTests(ValidationTests):
    asynchronous = True
