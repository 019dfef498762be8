"""``manage.py idempotency init|purge|show|forget|stats`` on the store of the settings
(SEMANTICS section 8), through ``call_command``."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.django.clients import ClientTestCase
from tests.support.replays import is_replay

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})


def idempotency(*argv: str) -> str:
    """What ``manage.py idempotency ARGV`` prints."""
    out = io.StringIO()
    call_command("idempotency", *argv, stdout=out)
    return out.getvalue()


@override_settings(IDEMPOTENCY_STORE="cache")
class CacheStoreCommandTests(ClientTestCase):
    def test_show_finds_a_users_record_and_forget_makes_its_key_new(self) -> None:
        self.login("ann")
        scope = f"user:{User.objects.get(username='ann').pk}"
        self.post("/echo", ORDER, key="order-1")
        lines = idempotency("show", "order-1", "--scope", scope).splitlines()
        assert lines[0] == "state: completed"
        assert "status: 201" in lines
        assert "annual plan" not in "\n".join(lines)
        with pytest.raises(CommandError, match="no record for this key and scope"):
            idempotency("show", "order-1")
        assert idempotency("forget", "order-1", "--scope", scope) == "Forgot the record.\n"
        assert not is_replay(self.post("/echo", ORDER, key="order-1"))

    def test_stats_says_a_cache_cannot_count(self) -> None:
        with pytest.raises(CommandError, match="not supported by CacheStore: a cache cannot"):
            idempotency("stats")

    def test_init_and_purge_have_nothing_to_do(self) -> None:
        assert idempotency("init") == "The idempotency store keeps no table: nothing to create.\n"
        assert idempotency("purge") == "Purged 0 expired records.\n"

    def test_a_wrong_setting_is_a_command_error_naming_it(self) -> None:
        with (
            override_settings(IDEMPOTENCY_STORE="bogus"),
            pytest.raises(CommandError, match="IDEMPOTENCY_STORE must be"),
        ):
            idempotency("stats")


@override_settings(IDEMPOTENCY_STORE="database")
class DatabaseStoreCommandTests(ClientTestCase):
    def test_stats_counts_the_records_and_init_points_at_migrate(self) -> None:
        assert idempotency("init") == (
            "The database store's table comes from its migration: run manage.py migrate.\n"
        )
        self.post("/echo", ORDER, key="order-1")
        self.post("/echo", ORDER, key="order-2")
        assert idempotency("stats") == "in progress: 0\ncompleted: 2\nexpired, not yet purged: 0\n"
        assert idempotency("forget", "order-1") == "Forgot the record.\n"
        assert idempotency("stats").startswith("in progress: 0\ncompleted: 1\n")
