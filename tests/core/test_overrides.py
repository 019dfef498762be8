"""One merge of a route's or view's options over the app's, and one way to name a
setting in an error."""

from __future__ import annotations

from idempotency_middleware.options import Options
from idempotency_middleware.overrides import EVERY_PATH, overridden, setting_error

APP = {"header": "X-Key", "key": None, "ttl": 60.0, "include": ("/orders",)}


def test_changes_go_over_the_apps_options_then_the_coverage() -> None:
    merged = overridden(APP, {"ttl": 5}, required=EVERY_PATH, include=())
    assert merged == {**APP, "ttl": 5, "required": EVERY_PATH, "include": ()}


def test_a_key_source_of_the_view_replaces_the_apps() -> None:
    assert overridden(APP, {"key": "source"})["header"] is None
    assert overridden(APP, {"header": "X-Other"})["key"] is None
    assert overridden(APP, {"ttl": 5})["header"] == "X-Key"


def test_the_apps_options_are_left_alone() -> None:
    overridden(APP, {"ttl": 5})
    assert APP["ttl"] == 60.0


def test_setting_error_names_the_setting() -> None:
    names = Options.names()
    assert setting_error("ttl must be positive", names) == "IDEMPOTENCY_TTL: ttl must be positive"
    assert setting_error("give either header= or key=", names).startswith(
        "IDEMPOTENCY_* settings: "
    )
