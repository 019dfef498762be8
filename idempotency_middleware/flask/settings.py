"""The ``IDEMPOTENCY_*`` config keys of a Flask app, and the store they select."""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.options import Options
from idempotency_middleware.overrides import SETTING_PREFIX, setting_error
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.sql import SQLAlchemyStore, make_table

__all__ = [
    "PREFIX",
    "TableSource",
    "build_options",
    "config_defaults",
    "default_store",
    "register",
    "table_source",
]

PREFIX = SETTING_PREFIX

_FLASK_ONLY: dict[str, Any] = {
    "DATABASE_URI": None,
    "TABLE_NAME": "idempotency_records",
    "TABLE_SCHEMA": None,
    "CREATE_TABLE": None,
}
"""Keys of the default SQL store; ``CREATE_TABLE`` None means "unless Alembic owns it"."""


def config_defaults() -> dict[str, Any]:
    """Every ``IDEMPOTENCY_*`` key with its default: one per option of
    :meth:`Options.build`, then those of the default store."""
    parameters = inspect.signature(Options.build).parameters
    defaults = {PREFIX + name.upper(): parameters[name].default for name in Options.names()}
    return defaults | {PREFIX + name: value for name, value in _FLASK_ONLY.items()}


def _check_known(config: Mapping[str, Any]) -> None:
    known = config_defaults()
    for name in config:
        if name.startswith(PREFIX) and name not in known:
            raise ConfigurationError(
                f"{name} is not a setting of idempotency_middleware; the settings are "
                + ", ".join(sorted(known))
            )


def build_options(config: Mapping[str, Any], store: Store) -> tuple[Options, dict[str, Any]]:
    """The options the config describes, and the keyword arguments they were built from
    (views with their own options rebuild from these)."""
    _check_known(config)
    settings = {name: config[PREFIX + name.upper()] for name in Options.names()}
    settings["store"] = store
    try:
        return Options.build(**settings), settings
    except ConfigurationError as exc:
        raise ConfigurationError(setting_error(str(exc), Options.names())) from exc


@dataclass(frozen=True)
class TableSource:
    """Where the default store keeps its table: a URL or Flask-SQLAlchemy's engine."""

    bind: str | Engine
    name: str
    schema: str | None

    def store(self, *, create_table: bool) -> SQLAlchemyStore:
        """A store on this table; it owns an engine only when built from a URL."""
        return SQLAlchemyStore(
            self.bind, table_name=self.name, schema=self.schema, create_table=create_table
        )


def _bind(app: Flask) -> str | Engine:
    # An explicit IDEMPOTENCY_DATABASE_URI wins; then the app's own database.
    uri = app.config[PREFIX + "DATABASE_URI"]
    if uri:
        return str(uri)
    database = app.extensions.get("sqlalchemy")
    if database is not None:
        with app.app_context():
            engine: Engine = database.engine
        return engine
    uri = app.config.get("SQLALCHEMY_DATABASE_URI")
    if uri:
        return str(uri)
    os.makedirs(app.instance_path, exist_ok=True)
    return f"sqlite:///{os.path.join(app.instance_path, 'idempotency.db')}"


def table_source(app: Flask) -> TableSource:
    """The table the default store uses for ``app``."""
    name, schema = app.config[PREFIX + "TABLE_NAME"], app.config[PREFIX + "TABLE_SCHEMA"]
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{PREFIX}TABLE_NAME must be a table name, not {name!r}")
    if schema is not None and not isinstance(schema, str):
        raise ConfigurationError(f"{PREFIX}TABLE_SCHEMA must be a schema name, not {schema!r}")
    return TableSource(_bind(app), name, schema)


def register(metadata: sa.MetaData, source: TableSource) -> sa.Table:
    """Define the table on ``metadata`` (once), so Alembic migrations manage it."""
    key = source.name if source.schema is None else f"{source.schema}.{source.name}"
    existing = metadata.tables.get(key)
    return existing if existing is not None else make_table(metadata, source.name, source.schema)


def default_store(app: Flask, source: TableSource, *, managed_elsewhere: bool) -> SQLAlchemyStore:
    """The SQL store used when ``IDEMPOTENCY_STORE`` is not set."""
    create = app.config[PREFIX + "CREATE_TABLE"]
    if create is None:
        create = not managed_elsewhere
    if not isinstance(create, bool):
        raise ConfigurationError(
            f"{PREFIX}CREATE_TABLE must be True, False or None, not {create!r}"
        )
    return source.store(create_table=create)
