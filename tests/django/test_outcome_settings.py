"""IDEMPOTENCY_ON_OUTCOME: the metrics callback as a dotted path or a function, reported
with the view's route, through the sync and the async middleware."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from idempotency_middleware.outcomes import OutcomeEvent
from tests.django import views
from tests.django.clients import ClientTestCase

events: list[OutcomeEvent] = []


def collect(event: OutcomeEvent) -> None:
    """The callback the settings name by dotted path."""
    events.append(event)


class OnOutcomeTests(ClientTestCase):
    def setUp(self) -> None:
        super().setUp()
        events.clear()

    @override_settings(IDEMPOTENCY_ON_OUTCOME="tests.django.test_outcome_settings.collect")
    def test_a_dotted_path(self) -> None:
        self.post("/echo", key="k1")
        self.post("/echo", key="k1")
        self.post("/echo", key="k1", body=b'{"other": 1}')
        assert [(e.outcome, e.status) for e in events] == [
            ("executed", 201),
            ("replayed", 201),
            ("mismatch", 422),
        ]
        assert {e.route for e in events} == {"/echo"}
        assert "k1" not in repr(events)

    def test_a_function(self) -> None:
        with override_settings(IDEMPOTENCY_ON_OUTCOME=collect):
            self.post("/echo", key="k2")
        assert [e.outcome for e in events] == ["executed"]

    @override_settings(IDEMPOTENCY_ON_OUTCOME=42)
    def test_a_wrong_value_is_a_system_check_error(self) -> None:
        errors = [m for m in run_checks() if m.id == "idempotency_middleware.E001"]
        assert len(errors) == 1
        assert "IDEMPOTENCY_ON_OUTCOME" in errors[0].msg


@pytest.mark.usefixtures("sqlite_db")
class AsyncOnOutcomeTests(OnOutcomeTests):
    asynchronous = True


class ViewListenerTests(ClientTestCase):
    """A view's own on_outcome hears the answers given before its record is read."""

    def test_the_views_listener_hears_its_400s_and_413(self) -> None:
        views.heard.clear()
        self.post("/listened")
        self.post("/listened", key="k" * 300)
        self.post("/listened", key="k1", body=b"x" * 200)
        assert [(e.outcome, e.status, e.route) for e in views.heard] == [
            ("key-missing", 400, "/listened"),
            ("key-invalid", 400, "/listened"),
            ("request-too-large", 413, "/listened"),
        ]
        assert views.calls["listened"] == 0


@pytest.mark.usefixtures("sqlite_db")
class AsyncViewListenerTests(ViewListenerTests):
    asynchronous = True
