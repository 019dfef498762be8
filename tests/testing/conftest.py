"""The plugin is tested as pytest plugins are: pytester (enabled in the top conftest) runs
a user's project, its conftest and tests, with the plugin registered."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.servers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

RunUsersSuite = Callable[..., pytest.RunResult]

_SETTINGS = """
[tool.pytest.ini_options]
filterwarnings = ["error"]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""


def install_entry_points(site: Path) -> None:
    """Write into ``site`` what installing the package registers: a distribution with
    the ``pytest11`` entry points of pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    plugins = project["project"]["entry-points"]["pytest11"]
    info = site / "idempotency_middleware_installed-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: idempotency-middleware-installed\nVersion: 0\n"
    )
    lines = "".join(f"{name} = {module}\n" for name, module in plugins.items())
    (info / "entry_points.txt").write_text(f"[pytest11]\n{lines}")


@pytest.fixture
def run_users_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> RunUsersSuite:
    """Run a user's ``tests`` beside their ``conftest`` and other ``modules`` (name to
    source) in a pytest process of their own, every warning an error, with the plugin
    registered as installing the package registers it."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTHONPATH", path)

    def run(*, conftest: str, tests: str, **modules: str) -> pytest.RunResult:
        pytester.makepyprojecttoml(_SETTINGS)
        pytester.makeconftest(conftest)
        if modules:
            pytester.makepyfile(**modules)
        pytester.makepyfile(test_users_app=tests)
        # The working directory is on the process's path, where entry points are found.
        install_entry_points(pytester.path)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)

    return run
