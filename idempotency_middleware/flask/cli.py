"""``flask idempotency init|purge|show|forget``: the operators' commands (SEMANTICS 8)."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup

from idempotency_middleware.records import Record, RecordState
from idempotency_middleware.request import Request
from idempotency_middleware.scope import default_scope, lookup_key

if TYPE_CHECKING:
    from idempotency_middleware.flask.extension import Idempotency

__all__ = ["idempotency_cli", "parse_scope"]

idempotency_cli = AppGroup("idempotency", help="Manage the idempotency records of this app.")

_SCOPE_HELP = (
    'Whose key it is: "user:<id>" (the logged-in user\'s id), "anonymous", '
    '"auth:<Authorization header value>" (hashed here as the middleware does; mind your '
    "shell history), or what your IDEMPOTENCY_SCOPE function returns."
)


def parse_scope(written: str) -> str:
    """The scope the middleware derives, from its written form on the command line."""
    if written.startswith("auth:"):
        authorization = written.removeprefix("auth:")
        return default_scope(Request("POST", "/", headers=(("authorization", authorization),)))
    return written


def _extension() -> Idempotency:
    extension: Idempotency = current_app.extensions["idempotency"]
    return extension


def _lookup(key: str, scope: str) -> str:
    return lookup_key(parse_scope(scope), key, _extension().get_options().secret)


def _when(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")


@idempotency_cli.command("init")
def init_command() -> None:
    """Create the records table if it is missing."""
    if _extension().create_table():
        click.echo("The idempotency table is ready.")
    else:
        click.echo("The idempotency store keeps no table: nothing to create.")


@idempotency_cli.command("purge")
def purge_command() -> None:
    """Delete expired records and print how many went."""
    count = _extension().get_store().purge()
    click.echo(f"Purged {count} expired record{'' if count == 1 else 's'}.")


def _describe(record: Record) -> list[str]:
    # The body may hold personal data and the fingerprint is of no use to a reader:
    # only sizes and the replayed headers (never cookies) are shown.
    lines = [f"state: {record.state.value}"]
    if record.state is RecordState.IN_PROGRESS:
        lines.append(f"lease expires: {_when(record.expires_at)}")
        return lines
    lines.append(f"expires: {_when(record.expires_at)}")
    response = record.response
    if response is None:
        lines.append("response: not stored (too large or streamed); repeats get 409")
        return lines
    lines.append(f"status: {response.status}")
    lines.append("headers:")
    lines.extend(
        f"  {name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in response.headers
    )
    lines.append(f"body: {len(response.body)} bytes")
    return lines


@idempotency_cli.command("show")
@click.argument("key")
@click.option("--scope", default="anonymous", show_default=True, help=_SCOPE_HELP)
def show_command(key: str, scope: str) -> None:
    """Print the record of KEY: state, status, headers and body size."""
    record = _extension().get_store().get(_lookup(key, scope))
    if record is None:
        raise click.ClickException("no record for this key and scope")
    click.echo("\n".join(_describe(record)))


@idempotency_cli.command("forget")
@click.argument("key")
@click.option("--scope", default="anonymous", show_default=True, help=_SCOPE_HELP)
def forget_command(key: str, scope: str) -> None:
    """Delete the record of KEY, so the next request with it runs again."""
    if not _extension().get_store().forget(_lookup(key, scope)):
        raise click.ClickException("no record for this key and scope")
    click.echo("Forgot the record.")
