"""``manage.py idempotency init|purge|show|forget|stats`` on the store of the settings
(SEMANTICS 8), doing and printing what :mod:`idempotency_middleware.cli` does."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from idempotency_middleware.cli import commands
from idempotency_middleware.django.conf import conf
from idempotency_middleware.django.database_store import DatabaseStore
from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.options import Options

__all__ = ["Command"]


def _run(options: Options, command: str, arguments: dict[str, Any]) -> str:
    store = options.store
    if command == "init":
        if isinstance(store, DatabaseStore):
            return "The database store's table comes from its migration: run manage.py migrate."
        return commands.init(store)
    if command == "purge":
        return commands.purge(store)
    if command == "stats":
        return commands.stats(store)
    lookup = commands.record_lookup_key(arguments["key"], arguments["scope"], options.secret)
    if command == "show":
        return commands.show(store, lookup)
    return commands.forget(store, lookup)


class Command(BaseCommand):
    help = "Manage the idempotency records of the store that IDEMPOTENCY_STORE names."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        verbs.add_parser("init", help="create the records table of a SQL store URL")
        verbs.add_parser("purge", help="delete expired records, print how many")
        for verb, text in (
            ("show", "print the record of one key"),
            ("forget", "delete the record of one key"),
        ):
            record = verbs.add_parser(verb, help=text)
            record.add_argument("key", help="the idempotency key, as the client sent it")
            record.add_argument("--scope", default="anonymous", help=commands.SCOPE_HELP)
        verbs.add_parser("stats", help="count the records by state")

    def handle(self, *args: Any, **arguments: Any) -> None:
        try:
            options = conf.options()
            self.stdout.write(_run(options, arguments["verb"], arguments))
        except (commands.CommandError, ConfigurationError) as exc:
            raise CommandError(str(exc)) from exc
        except StoreError as exc:
            raise CommandError(
                f"the store failed: {exc}. Check IDEMPOTENCY_STORE and that its server is "
                "running (the database store's table comes from manage.py migrate)."
            ) from exc
