"""The in-process ASGI app of the behaviour suite serves the fault tests too."""

from __future__ import annotations

from tests.asgi.conftest import make_service

__all__ = ["make_service"]
