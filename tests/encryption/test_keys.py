"""The ``encryption_keys`` option: what a key looks like, the errors for anything else
(never quoting the key), and the same option in every adapter."""

from __future__ import annotations

import base64
import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from idempotency_middleware import ConfigurationError, MemoryStore, Options, RecordDecodeError
from idempotency_middleware.encryption import EncryptedStore, Keyring, generate_key
from idempotency_middleware.flask import Idempotency
from idempotency_middleware.records import RecordState
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key

SHORT = base64.urlsafe_b64encode(os.urandom(16)).decode()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (generate_key(), "must be a list of keys"),
        (["not a key at all"], r"encryption_keys\[0\] is not a valid key: give 32 random bytes"),
        ([generate_key(), SHORT], r"encryption_keys\[1\] is not a valid key"),
        ([42], r"encryption_keys\[0\] must be a str or bytes key, not a int"),
    ],
)
def test_a_bad_key_is_a_configuration_error(keys: object, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        Options.build(store=MemoryStore(), encryption_keys=keys)  # type: ignore[arg-type]
    assert SHORT not in str(caught.value)
    assert "not a key at all" not in str(caught.value)


def test_keys_in_text_or_raw_bytes() -> None:
    raw = os.urandom(32)
    fernet_style = base64.urlsafe_b64encode(os.urandom(32))
    for keys in ([generate_key()], [raw], [fernet_style]):
        options = Options.build(store=MemoryStore(), encryption_keys=keys)
        assert isinstance(options.store, EncryptedStore)
    assert isinstance(Options.build(store=MemoryStore()).store, MemoryStore)


def test_without_cryptography_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [m for m in sys.modules if m.split(".")[0] == "cryptography"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "idempotency_middleware.encryption")
    with pytest.raises(ConfigurationError, match=r"idempotency-middleware\[encryption\]"):
        Options.build(store=MemoryStore(), encryption_keys=[generate_key()])


def test_a_body_moved_to_another_record_does_not_decrypt() -> None:
    keyring = Keyring([generate_key()])
    sealed = keyring.encrypt(b"body", b"record-1", b"owner")
    assert keyring.decrypt(sealed, b"record-1") == b"body"
    with pytest.raises(RecordDecodeError):
        keyring.decrypt(sealed, b"record-2")
    with pytest.raises(RecordDecodeError):
        keyring.decrypt(b"body", b"record-1")


def test_a_retried_completion_writes_the_same_bytes() -> None:
    """Stores recognise a completion re-sent after a lost reply by comparing bodies."""
    keyring = Keyring([generate_key()])
    sealed = keyring.encrypt(b"body", b"record-1", b"owner-1")
    assert keyring.encrypt(b"body", b"record-1", b"owner-1") == sealed
    assert keyring.encrypt(b"body", b"record-1", b"owner-2") != sealed


def test_flask_config(tmp_path: Path) -> None:
    store = MemoryStore()
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(IDEMPOTENCY_STORE=store, IDEMPOTENCY_ENCRYPTION_KEYS=[generate_key()])
    Idempotency(app)

    @app.post("/orders")
    def order() -> tuple[str, int]:
        return "secret receipt", 201

    client = app.test_client()
    first = client.post("/orders", headers={"Idempotency-Key": "k"})
    replay = client.post("/orders", headers={"Idempotency-Key": "k"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.data == first.data == b"secret receipt"
    stored = store.get(lookup_key(ANONYMOUS_SCOPE, "k", None))
    assert stored is not None
    assert stored.state is RecordState.COMPLETED
    assert stored.response is not None
    assert b"secret receipt" not in stored.response.body


def test_flask_config_error_names_the_setting(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(IDEMPOTENCY_STORE=MemoryStore(), IDEMPOTENCY_ENCRYPTION_KEYS=["short"])
    with pytest.raises(ConfigurationError, match=r"^IDEMPOTENCY_ENCRYPTION_KEYS: "):
        Idempotency(app)


class LabelledStore(MemoryStore):
    label = "orders"


def test_the_layered_store_copies_and_reads_the_inner_store_attributes() -> None:
    inner = LabelledStore()
    options = Options.build(store=inner, encryption_keys=[generate_key()])
    layered: Any = copy.copy(options.store)
    assert layered.label == "orders"
    assert layered.inner is inner
