"""Every code snippet of the site is included from a file under integrations/, and that
file exists, holds the markers the page cuts at, and imports."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.docs.pages import DOCS, ROOT, Include, blocks, includes, pages

INTEGRATIONS = ROOT / "integrations"
SNIPPETS = INTEGRATIONS / "snippets"

# Commands for a shell may be written in a page; code may not.
_LANGUAGES_ALLOWED_INLINE = {"bash", "console", "shell", "text"}


def _name(include: Include) -> str:
    return f"{include.page.relative_to(DOCS)}:{include.line}"


def test_the_site_includes_code() -> None:
    assert len(includes()) > 20


@pytest.mark.parametrize("include", includes(), ids=_name)
def test_every_include_is_a_file_under_integrations(include: Include) -> None:
    assert include.path.is_relative_to(INTEGRATIONS), include.path
    assert include.path.is_file(), f"{_name(include)} includes a missing file {include.path}"


@pytest.mark.parametrize("include", includes(), ids=_name)
def test_every_marker_of_an_include_is_in_its_file(include: Include) -> None:
    text = include.path.read_text(encoding="utf-8")
    start = 0
    for option in ("start-after", "start-at"):
        if option in include.markers:
            marker = include.markers[option]
            assert marker in text, f"{_name(include)}: no {marker!r} in {include.path.name}"
            start = text.index(marker)
    for option in ("end-before", "end-at"):
        if option in include.markers:
            marker = include.markers[option]
            assert marker in text[start + 1 :], (
                f"{_name(include)}: no {marker!r} after the start in {include.path.name}"
            )


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize(
    "module", sorted({_module(include.path) for include in includes()}), ids=str
)
def test_every_included_file_imports(module: str) -> None:
    assert importlib.import_module(module).__name__ == module


@pytest.mark.parametrize("page", pages(), ids=lambda page: str(page.relative_to(DOCS)))
def test_no_page_holds_code_of_its_own(page: Path) -> None:
    pasted = [
        f"line {block.line}: {block.info or 'a block without a language'}"
        for block in blocks(page)
        if block.directive is None and block.info not in _LANGUAGES_ALLOWED_INLINE
    ]
    assert pasted == [], "include code from integrations/ instead"


def test_every_snippet_file_is_shown_on_a_page() -> None:
    shown = {include.path for include in includes()}
    unshown = [
        path.name
        for path in sorted(SNIPPETS.glob("*.py"))
        if path.name != "__init__.py" and path.resolve() not in shown
    ]
    assert unshown == []
