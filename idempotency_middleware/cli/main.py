"""``idempotency-middleware init|purge|show|forget|stats --store URL``.

Exit status 0 on success, 2 when a command cannot run (a wrong URL, a store out of
reach, no record for the key), with a message on standard error that says what to do.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from idempotency_middleware.cli import commands
from idempotency_middleware.cli.commands import CommandError
from idempotency_middleware.errors import StoreError
from idempotency_middleware.stores import Store, backend_of, from_url

__all__ = ["SECRET_VARIABLE", "STORE_URL_VARIABLE", "main", "parser"]

STORE_URL_VARIABLE = "IDEMPOTENCY_STORE_URL"
"""The environment variable read when ``--store`` is not given."""

SECRET_VARIABLE = "IDEMPOTENCY_SECRET"  # noqa: S105 - a variable's name, not a secret
"""The environment variable read when ``--secret`` is not given."""

_EXAMPLES = (
    "such as postgresql+psycopg://user@host/db, sqlite:///idempotency.db or redis://host:6379/0"
)


def parser() -> argparse.ArgumentParser:
    """The argument parser of the command line."""
    top = argparse.ArgumentParser(
        prog="idempotency-middleware",
        description="Manage the records of an idempotency store: the SQL database or Redis "
        "that your app's middleware uses.",
    )
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--store",
        metavar="URL",
        help=f"the store's URL, {_EXAMPLES} (default: ${STORE_URL_VARIABLE})",
    )
    store.add_argument("--table", help="SQL stores: the table (default: idempotency_records)")
    store.add_argument("--schema", help="SQL stores: the table's schema")
    store.add_argument("--prefix", help="Redis stores: the key prefix (default: idem:)")
    record = argparse.ArgumentParser(add_help=False)
    record.add_argument("key", help="the idempotency key, as the client sent it")
    record.add_argument("--scope", default="anonymous", help=commands.SCOPE_HELP)
    record.add_argument(
        "--secret",
        help="the middleware's secret option (Django: IDEMPOTENCY_SECRET, else SECRET_KEY); "
        f"default: ${SECRET_VARIABLE}, else none, as the middleware without one",
    )
    verbs = top.add_subparsers(dest="command", required=True)
    verbs.add_parser("init", parents=[store], help="create the records table of a SQL store")
    verbs.add_parser("purge", parents=[store], help="delete expired records, print how many")
    verbs.add_parser("show", parents=[store, record], help="print the record of one key")
    verbs.add_parser("forget", parents=[store, record], help="delete the record of one key")
    verbs.add_parser("stats", parents=[store], help="count the records by state")
    return top


def _shown(url: str) -> str:
    # Error messages end up in terminals and CI logs: never with the password.
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def _open(url: str | None, arguments: argparse.Namespace) -> Store:
    if not url:
        raise CommandError(f"no store: give --store URL or set {STORE_URL_VARIABLE}, {_EXAMPLES}")
    backend = backend_of(url)
    options: dict[str, Any] = {}
    if backend == "sql":
        # Only init creates the table: any other command on a database without it is
        # pointed at the wrong database, or init has not run.
        options["create_table"] = False
        if arguments.table:
            options["table_name"] = arguments.table
        if arguments.schema:
            options["schema"] = arguments.schema
    elif arguments.table or arguments.schema:
        raise CommandError("--table and --schema apply to SQL store URLs only")
    if backend == "redis" and arguments.prefix:
        options["prefix"] = arguments.prefix
    elif arguments.prefix:
        raise CommandError("--prefix applies to Redis store URLs only")
    if backend == "memory":
        raise CommandError(
            "memory:// is the store of one running process, out of reach from here: "
            "give the URL of the SQL database or Redis your app uses"
        )
    try:
        if url.lower().startswith("sqlite") and arguments.command != "init":
            _require_sqlite_file(url)
        return from_url(url, **options)
    except ImportError as exc:
        raise CommandError(
            f"the driver of {_shown(url)} is not installed ({exc}): install the extra, such as "
            "pip install 'idempotency-middleware[postgres]' ([mysql], [redis], [sqlalchemy])"
        ) from exc
    except ValueError as exc:
        raise CommandError(f"cannot use the store URL {_shown(url)}: {exc}") from exc


def _require_sqlite_file(url: str) -> None:
    # SQLite creates a missing database file on connect: a typo in the path would leave a
    # new empty database behind and blame a missing table.
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database
    if not database or database == ":memory:" or "uri" in parsed.query:
        return
    if not Path(database).exists():
        raise CommandError(
            f"no SQLite database at {database}: check the path, or run init to create it"
        )


def _secret(arguments: argparse.Namespace) -> bytes | None:
    secret = arguments.secret or os.environ.get(SECRET_VARIABLE)
    return secret.encode() if secret else None


def _run(arguments: argparse.Namespace, store: Store) -> str:
    command = arguments.command
    if command == "init":
        return commands.init(store)
    if command == "purge":
        return commands.purge(store)
    if command == "stats":
        return commands.stats(store)
    lookup = commands.record_lookup_key(arguments.key, arguments.scope, _secret(arguments))
    if command == "show":
        return commands.show(store, lookup)
    return commands.forget(store, lookup)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status."""
    arguments = parser().parse_args(argv)
    prefix = f"idempotency-middleware {arguments.command}: error:"
    url = arguments.store or os.environ.get(STORE_URL_VARIABLE)
    try:
        store = _open(url, arguments)
    except CommandError as exc:
        print(prefix, exc, file=sys.stderr)
        return 2
    try:
        print(_run(arguments, store))
    except CommandError as exc:
        print(prefix, exc, file=sys.stderr)
        return 2
    except StoreError as exc:
        hint = " (or the table is missing: run init)" if hasattr(store, "create_table") else ""
        print(
            prefix,
            f"the store at {_shown(str(url))} failed: {exc}\n"
            f"Check the URL and that the server is running{hint}.",
            file=sys.stderr,
        )
        return 2
    finally:
        store.close()
    return 0
