"""The example Flask shop for ``gunicorn "tests.flask.server_app:create()"``.

Every worker process calls the factory, so its arguments travel as JSON in one
environment variable that the test sets for the server process.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from integrations.flask_app import create_app
from tests.support.configs import config_environment, config_of

__all__ = ["create", "environment"]

_VARIABLE = "IDEMPOTENCY_TEST_FLASK_APP"


def environment(*, orders_url: str, delay: float, config: dict[str, Any]) -> dict[str, str]:
    """The environment variables that hand these arguments of ``create_app`` to
    :func:`create`; ``config`` is Flask config."""
    return config_environment(
        _VARIABLE, {"orders_url": orders_url, "delay": delay, "config": config}
    )


def create() -> Flask:
    arguments = config_of(_VARIABLE)
    return create_app(
        orders_url=arguments["orders_url"], delay=arguments["delay"], **arguments["config"]
    )
