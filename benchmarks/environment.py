"""What a result file records about where it was measured (no paths, no host names)."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from typing import Any

__all__ = ["describe"]

_PACKAGES = (
    "starlette",
    "fastapi",
    "uvicorn",
    "sqlalchemy",
    "psycopg",
    "redis",
    "asgi-idempotency-header",
    "idemkit",
    "asyncpg",
    "django",
    "flask",
    "uvloop",
    "httptools",
)


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def describe(mode: str, rounds: int) -> dict[str, Any]:
    """The mode, the date, the interpreter, the machine's size and the package versions."""
    return {
        "mode": mode,
        "rounds": rounds,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "packages": {name: _version(name) for name in _PACKAGES if _version(name)},
    }
