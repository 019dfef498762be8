"""docs/architecture.md names where each rule of SEMANTICS lives: every name exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

PAGE = Path(__file__).parents[2] / "docs" / "architecture.md"
_NAME = re.compile(r"`(idempotency_middleware(?:\.\w+)+)`")


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute)
        return found
    raise ModuleNotFoundError(dotted)


def _table() -> dict[int, list[str]]:
    rows: dict[int, list[str]] = {}
    for line in PAGE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            rows[int(cells[0])] = _NAME.findall(line)
    return rows


def test_every_section_of_semantics_has_a_place() -> None:
    rows = _table()
    assert sorted(rows) == list(range(1, 9))
    assert all(rows.values())


def test_every_named_module_and_function_exists() -> None:
    for names in _table().values():
        for name in names:
            assert _resolve(name) is not None, name
