"""The core decides and the edges act: no core module imports a store, a clock or an event
loop (only type hints, under ``TYPE_CHECKING``), and the core imports no edge module."""

from __future__ import annotations

import ast
from pathlib import Path

import idempotency_middleware

PACKAGE = Path(idempotency_middleware.__file__).parent

EDGES = {
    "__init__",
    "__main__",
    "clock",
    "drivers",
    "encryption",
    "functions",
    "outcome_log",
    "otel",
    "pytest_plugin",
    "renewal",
    "testing",
    "wiring",
}
"""Top-level modules that meet a store, a clock, an event loop or a logger: the drivers and
what they need, the adapter for function calls, and the helpers of users' test suites."""

FORBIDDEN = ("asyncio", "time", "threading", "idempotency_middleware.stores")
ALLOWED = {("options", "idempotency_middleware.wiring")}
"""Options.build hands the app-wide plug-ins to the wiring, and only that."""


def _runtime_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:  # module level only; TYPE_CHECKING blocks are `if` statements
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def _core() -> list[Path]:
    return sorted(p for p in PACKAGE.glob("*.py") if p.stem not in EDGES)


def test_the_core_imports_no_store_clock_or_event_loop() -> None:
    for path in _core():
        for name in _runtime_imports(path):
            assert not any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN), (
                f"{path.name} imports {name}"
            )


def test_the_core_imports_no_edge_module() -> None:
    edges = {f"idempotency_middleware.{name}" for name in EDGES}
    for path in _core():
        for name in _runtime_imports(path) & edges:
            assert (path.stem, name) in ALLOWED, f"{path.name} imports {name}"
