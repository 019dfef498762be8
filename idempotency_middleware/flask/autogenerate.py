"""Keeps Flask-Migrate's autogenerate away from the default store's own table.

Not opted in (no ``metadata=``, no ``register_table``), the store creates its table in
the app's database, where Alembic finds a table the app's metadata does not hold and
would write ``op.drop_table`` for it into the user's next migration. Flask-Migrate's
``env.py`` passes ``app.extensions["migrate"].configure_args`` to
``context.configure`` when a ``flask db`` command runs, so an ``include_object`` filter
added there, around the user's own, keeps the table out of the comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from idempotency_middleware.flask.settings import TableSource

__all__ = ["exclude_from_autogenerate"]

IncludeObject = Callable[[Any, Any, str, bool, Any], bool]
"""Alembic's ``include_object(object, name, type_, reflected, compare_to)``."""


class _LeaveStoreTableAlone:
    """An ``include_object`` filter that leaves out the store's table when it is found
    in the database but not in the metadata, and asks the user's filter about the rest."""

    def __init__(self, table: TableSource, then: IncludeObject | None) -> None:
        self.table = table
        self.then = then

    def __call__(
        self, object_: Any, name: Any, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        # Alembic reports a table of the default schema with schema None, whether or not
        # the store names that schema; leaving out one table too many only spares a drop.
        if (
            type_ == "table"
            and reflected
            and compare_to is None
            and name == self.table.name
            and getattr(object_, "schema", None) in (None, self.table.schema)
        ):
            return False
        return self.then is None or self.then(object_, name, type_, reflected, compare_to)


def exclude_from_autogenerate(app: Flask, table: TableSource) -> bool:
    """Add the filter to Flask-Migrate's ``configure_args`` of ``app``, once. False when
    Flask-Migrate is not (yet) initialised on ``app``."""
    configure_args = getattr(app.extensions.get("migrate"), "configure_args", None)
    if not isinstance(configure_args, dict):
        return False
    user_filter = configure_args.get("include_object")
    if not isinstance(user_filter, _LeaveStoreTableAlone):
        configure_args["include_object"] = _LeaveStoreTableAlone(table, user_filter)
    return True
