"""The rules an adapter cannot express are the ones the docs list."""

from __future__ import annotations

from pathlib import Path

from tests.behaviour.capabilities import CANNOT

DOCS = Path(__file__).resolve().parents[2] / "docs" / "semantics.md"


def test_every_rule_an_adapter_cannot_express_is_documented_with_its_reason() -> None:
    section = DOCS.read_text().split("## What each framework can express", 1)[1]
    for rules in CANNOT.values():
        for rule, reason in rules.items():
            assert f"`{rule}`" in section
            assert reason in section
