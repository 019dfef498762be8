"""constraints.txt pins every package that the locked extras ask for, so a fresh machine
installs what CI tested; a requirement added to pyproject.toml without ``nox -s lock``
would install whatever release is newest that day."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCKED_EXTRAS = ("test", "lint", "demo", "docs")


def _pinned() -> dict[str, list[str]]:
    pins: dict[str, list[str]] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1, line
        assert next(iter(requirement.specifier)).operator == "==", line
        pins.setdefault(canonicalize_name(requirement.name), []).append(line)
    return pins


def _wanted(extra: str, extras: dict[str, list[str]], seen: set[str]) -> set[str]:
    """The distributions that ``extra`` asks for, through the project's own extras."""
    if extra in seen:
        return set()
    seen.add(extra)
    names: set[str] = set()
    for line in extras[extra]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name == "idempotency-middleware":
            for inner in requirement.extras:
                names |= _wanted(inner, extras, seen)
        else:
            names.add(name)
    return names


@pytest.mark.parametrize("extra", LOCKED_EXTRAS)
def test_every_requirement_of_a_locked_extra_is_pinned(extra: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing = _wanted(extra, project["optional-dependencies"], set()) - set(_pinned())
    assert not missing, f"run `nox -s lock`: constraints.txt does not pin {sorted(missing)}"
