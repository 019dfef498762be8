"""The plugin is tested as pytest plugins are: pytester runs a user's project, its conftest
and tests, with the plugin loaded."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from tests.support.servers import ROOT

pytest_plugins = ["pytester"]

RunUsersSuite = Callable[..., pytest.RunResult]

_SETTINGS = """
[tool.pytest.ini_options]
filterwarnings = ["error"]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""


@pytest.fixture
def run_users_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RunUsersSuite:
    """Run a user's ``tests`` beside their ``conftest`` and other ``modules`` (name to
    source) in a pytest process of their own, every warning an error."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)

    def run(*, conftest: str, tests: str, **modules: str) -> pytest.RunResult:
        pytester.makepyprojecttoml(_SETTINGS)
        pytester.makeconftest(conftest)
        if modules:
            pytester.makepyfile(**modules)
        pytester.makepyfile(test_users_app=tests)
        # The module's path is the entry point's name: where the package is installed,
        # the entry point has loaded the plugin already, and this asks for nothing more.
        return pytester.runpytest_subprocess(
            "-p", "idempotency_middleware.pytest_plugin", "-p", "no:cacheprovider", timeout=120
        )

    return run
