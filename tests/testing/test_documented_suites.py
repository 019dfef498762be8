"""The FastAPI and Flask test modules of the testing page pass, run as a reader's test
file (the Django one runs against the example project, in tests/django)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from integrations.snippets import testing_fastapi, testing_flask
from tests.testing.conftest import RunUsersSuite


@pytest.mark.parametrize("snippet", [testing_fastapi, testing_flask], ids=["fastapi", "flask"])
def test_the_documented_suite_passes(run_users_suite: RunUsersSuite, snippet: ModuleType) -> None:
    source = Path(str(snippet.__file__)).read_text(encoding="utf-8")
    result = run_users_suite(conftest="", tests=source)
    result.assert_outcomes(passed=2)
