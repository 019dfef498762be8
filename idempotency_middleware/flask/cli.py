"""``flask idempotency init|purge|show|forget|stats``: the operators' commands
(SEMANTICS 8), doing and printing what :mod:`idempotency_middleware.cli` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from idempotency_middleware.cli import commands
from idempotency_middleware.cli.commands import CommandError
from idempotency_middleware.errors import StoreError
from idempotency_middleware.stores.base import Store

if TYPE_CHECKING:
    from idempotency_middleware.flask.extension import Idempotency

__all__ = ["idempotency_cli"]

idempotency_cli = AppGroup("idempotency", help="Manage the idempotency records of this app.")


def _extension() -> Idempotency:
    extension: Idempotency = current_app.extensions["idempotency"]
    return extension


def _echo(command: Callable[[], str]) -> None:
    try:
        click.echo(command())
    except CommandError as exc:
        raise click.ClickException(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(
            f"the idempotency store failed: {exc}; check that its database or Redis is "
            "running, and that `flask idempotency init` has run"
        ) from exc


def _on_record(command: Callable[[Store, str], str], key: str, scope: str) -> None:
    extension = _extension()

    def run() -> str:
        lookup = commands.record_lookup_key(key, scope, extension.get_options().secret)
        return command(extension.get_store(), lookup)

    _echo(run)


@idempotency_cli.command("init")
def init_command() -> None:
    """Create the records table if it is missing."""
    _echo(lambda: commands.TABLE_READY if _extension().create_table() else commands.NO_TABLE)


@idempotency_cli.command("purge")
def purge_command() -> None:
    """Delete expired records and print how many went."""
    _echo(lambda: commands.purge(_extension().get_store()))


@idempotency_cli.command("show")
@click.argument("key")
@click.option("--scope", default="anonymous", show_default=True, help=commands.SCOPE_HELP)
def show_command(key: str, scope: str) -> None:
    """Print the record of KEY: state, status, headers and body size."""
    _on_record(commands.show, key, scope)


@idempotency_cli.command("forget")
@click.argument("key")
@click.option("--scope", default="anonymous", show_default=True, help=commands.SCOPE_HELP)
def forget_command(key: str, scope: str) -> None:
    """Delete the record of KEY, so the next request with it runs again."""
    _on_record(commands.forget, key, scope)


@idempotency_cli.command("stats")
def stats_command() -> None:
    """Count the records by state."""
    _echo(lambda: commands.stats(_extension().get_store()))
