"""The Python code that the README and the site show, as a reader copies it, and the names
such code uses without defining or importing them."""

from __future__ import annotations

import builtins
import symtable
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.docs.pages import ROOT, Block, blocks, pages

__all__ = ["README", "Shown", "shown", "undefined_names"]

README = ROOT / "README.md"

_PYTHON = {"python", "python3", "py"}
# What Sphinx's literalinclude does with these is what _cut does; any other option would
# show something else than what the test checks.
_CUTS = {"language", "start-after", "start-at", "end-before", "end-at", "dedent"}


@dataclass(frozen=True)
class Shown:
    """One Python block: the page and line that show it, the text a reader copies, and the
    file it is included from (``None`` when the page holds it)."""

    page: Path
    line: int
    text: str
    source: Path | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _cut(block: Block, path: Path) -> str:
    """The lines of ``path`` that Sphinx's literalinclude shows for ``block``."""
    unknown = set(block.options) - _CUTS
    assert not unknown, f"{block.page.name}:{block.line}: check {sorted(unknown)} too"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for option, keep in (("start-after", False), ("start-at", True)):
        if option in block.options:
            at = next(i for i, line in enumerate(lines) if block.options[option] in line)
            lines = lines[at if keep else at + 1 :]
    for option, keep in (("end-before", False), ("end-at", True)):
        if option in block.options:
            at = next(i for i, line in enumerate(lines) if block.options[option] in line)
            lines = lines[: at + 1 if keep else at]
    text = "".join(lines)
    return textwrap.dedent(text) if "dedent" in block.options else text


def _python(page: Path, block: Block) -> Shown | None:
    if block.directive == "literalinclude" and block.options.get("language") in _PYTHON:
        path = (page.parent / block.argument).resolve()
        return Shown(page, block.line, _cut(block, path), path)
    language = block.argument if block.directive in ("code-block", "code") else block.info
    if language in _PYTHON:
        return Shown(page, block.line, "\n".join(block.body) + "\n", None)
    return None


def shown() -> list[Shown]:
    """Every Python block of the README and of the site's pages."""
    return [
        code
        for page in (README, *pages())
        for block in blocks(page)
        if (code := _python(page, block)) is not None
    ]


_MODULE_NAMES = {"__name__", "__file__", "__doc__", "__builtins__", "__spec__", "__loader__"}


def _tables(table: symtable.SymbolTable) -> list[symtable.SymbolTable]:
    return [table, *(inner for child in table.get_children() for inner in _tables(child))]


def undefined_names(source: str) -> list[str]:
    """The names ``source`` reads that it neither defines, imports nor gets from builtins:
    those a reader pasting it into an empty file would have to guess."""
    module = symtable.symtable(source, "<shown>", "exec")
    tables = _tables(module)
    defined = set(dir(builtins)) | _MODULE_NAMES
    defined |= {
        symbol.get_name()
        for symbol in module.get_symbols()
        if symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace()
    }
    defined |= {
        symbol.get_name()
        for table in tables[1:]
        for symbol in table.get_symbols()
        if symbol.is_declared_global() and symbol.is_assigned()
    }
    return sorted(
        {
            symbol.get_name()
            for table in tables
            for symbol in table.get_symbols()
            if symbol.is_referenced()
            and (table is module or symbol.is_global())
            and symbol.get_name() not in defined
        }
    )
