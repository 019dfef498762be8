"""The documentation pages as the tests read them: their fenced blocks, includes and nav."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DOCS", "ROOT", "Block", "Include", "blocks", "includes", "pages", "toctree_entries"]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_OPTION = re.compile(r"^:(?P<name>[\w-]+):\s*(?P<value>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: ``info`` is what follows the fence (``{toctree}``,
    ``{literalinclude} path``, ``bash``), ``options`` its ``:name: value`` lines."""

    page: Path
    line: int
    info: str
    options: dict[str, str]
    body: list[str]

    @property
    def directive(self) -> str | None:
        match = re.match(r"\{([\w-]+)\}", self.info)
        return match.group(1) if match else None

    @property
    def argument(self) -> str:
        return self.info.split("}", 1)[1].strip() if self.directive else ""


@dataclass(frozen=True)
class Include:
    """A ``literalinclude`` of a page: the file it names and the markers it cuts at."""

    page: Path
    line: int
    path: Path
    markers: dict[str, str]


def pages() -> list[Path]:
    """Every page of the site."""
    return sorted(DOCS.rglob("*.md"))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page``, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, start = opening.group("fence"), index
        index += 1
        options: dict[str, str] = {}
        while index < len(lines) and (option := _OPTION.match(lines[index])):
            options[option.group("name")] = _unquote(option.group("value"))
            index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index])
            index += 1
        index += 1
        found.append(Block(page, start + 1, opening.group("info").strip(), options, body))
    return found


def includes() -> list[Include]:
    """Every ``literalinclude`` of every page."""
    return [
        Include(
            block.page,
            block.line,
            (block.page.parent / block.argument).resolve(),
            {
                name: value
                for name, value in block.options.items()
                if name in ("start-after", "end-before", "start-at", "end-at")
            },
        )
        for page in pages()
        for block in blocks(page)
        if block.directive == "literalinclude"
    ]


def toctree_entries(page: Path) -> list[Path]:
    """The pages that the toctrees of ``page`` list."""
    return [
        (page.parent / f"{entry.strip()}.md").resolve()
        for block in blocks(page)
        if block.directive == "toctree"
        for entry in block.body
        if entry.strip()
    ]
