"""App factories for ``uvicorn --factory``, configured through the environment.

Every worker process of a server calls the factory, so the configuration travels as
JSON in one environment variable that the test sets for the server process.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

from starlette.applications import Starlette

from idempotency_middleware.stores import from_url
from integrations import fastapi_app, starlette_app
from tests.support.configs import config_environment, config_of

__all__ = ["AppConfig", "environment", "fastapi_orders", "starlette_orders"]

_VARIABLE = "IDEMPOTENCY_TEST_SERVER_APP"


class AppConfig(TypedDict):
    """``store_options`` go to the store, ``options`` to the middleware."""

    store_url: str
    store_options: dict[str, Any]
    orders_url: str
    orders_table: str
    delay: float
    options: dict[str, Any]


def environment(config: AppConfig) -> dict[str, str]:
    """The environment variables that hand ``config`` to the factories."""
    return config_environment(_VARIABLE, config)


def _config() -> AppConfig:
    return cast(AppConfig, config_of(_VARIABLE))


def fastapi_orders() -> Starlette:
    config = _config()
    return fastapi_app.create_app(
        from_url(config["store_url"], **config["store_options"]),
        orders_url=config["orders_url"],
        orders_table=config["orders_table"],
        delay=config["delay"],
        **config["options"],
    )


def starlette_orders() -> Starlette:
    config = _config()
    return starlette_app.create_app(
        from_url(config["store_url"], **config["store_options"]),
        orders_url=config["orders_url"],
        orders_table=config["orders_table"],
        delay=config["delay"],
        **config["options"],
    )
