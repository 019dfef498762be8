"""IDEMPOTENCY_ENCRYPTION_KEYS: bodies encrypted in the store in clear, and a
wrong key reported by the system checks without quoting it."""

from __future__ import annotations

from django.core.checks import run_checks
from django.test import override_settings

from idempotency_middleware.django.conf import conf
from idempotency_middleware.encryption import generate_key
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import MemoryStore
from tests.django.clients import ClientTestCase
from tests.support.replays import is_replay

STORE = MemoryStore()


@override_settings(IDEMPOTENCY_STORE=STORE, IDEMPOTENCY_ENCRYPTION_KEYS=[generate_key()])
class EncryptionSettingTests(ClientTestCase):
    def test_bodies_are_encrypted_in_the_store(self) -> None:
        body = '{"card": "4242-plaintext"}'
        first = self.post("/echo", body, key="enc-1")
        again = self.post("/echo", body, key="enc-1")
        assert is_replay(again)
        assert again.content == first.content  # type: ignore[attr-defined]
        record = STORE.get(lookup_key(ANONYMOUS_SCOPE, "enc-1", conf.options().secret))
        assert record is not None
        assert record.response is not None
        assert b"4242-plaintext" not in record.response.body

    @override_settings(IDEMPOTENCY_ENCRYPTION_KEYS=["hunter2"])
    def test_a_wrong_key_is_a_system_check_error(self) -> None:
        [error] = [m for m in run_checks() if m.id == "idempotency_middleware.E001"]
        assert error.msg.startswith("IDEMPOTENCY_ENCRYPTION_KEYS: ")
        assert "hunter2" not in error.msg
