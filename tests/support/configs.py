"""Configuration handed to a server process (uvicorn, gunicorn) through its environment:
the test writes it, the app factory the server imports reads it back."""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = ["config_environment", "config_of"]


def config_environment(variable: str, config: Any) -> dict[str, str]:
    """The environment variables that hand ``config`` (JSON-able) to the server's app."""
    return {variable: json.dumps(config)}


def config_of(variable: str) -> Any:
    """What :func:`config_environment` handed this process under ``variable``."""
    return json.loads(os.environ[variable])
