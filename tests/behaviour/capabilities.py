"""What each adapter's framework cannot express, and why.

A test marked ``@pytest.mark.expresses(rule)`` is generated only for the adapters that
can express ``rule``; the docs list the same rules under "What each framework can
express".
"""

from __future__ import annotations

__all__ = ["ADAPTERS", "CANNOT", "REPEATED_HEADER_LINES"]

ADAPTERS = ("fastapi", "starlette", "django-sync", "django-async", "flask", "wsgi")

REPEATED_HEADER_LINES = "repeated-header-lines"
"""A response with two lines of one header is replayed with the two lines."""

_ONE_LINE_PER_HEADER = (
    "a Django response holds one value per header name, so a view cannot answer two "
    "lines of one header for the replay to repeat"
)

CANNOT: dict[str, dict[str, str]] = {
    "fastapi": {},
    "starlette": {},
    "django-sync": {REPEATED_HEADER_LINES: _ONE_LINE_PER_HEADER},
    "django-async": {REPEATED_HEADER_LINES: _ONE_LINE_PER_HEADER},
    "flask": {},
    "wsgi": {},
}
"""For each adapter, the rules it cannot express, with the reason."""
