"""``flask idempotency init|purge|show|forget|stats`` (SEMANTICS section 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.encryption import generate_key
from idempotency_middleware.errors import StoreError
from idempotency_middleware.flask import Idempotency
from idempotency_middleware.records import Record
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from idempotency_middleware.stores import MemoryStore
from idempotency_middleware.stores.base import RecordCounts
from tests.flask.conftest import MakeShop, Shop


def run(shop: Shop, *args: str) -> tuple[int, str]:
    result = shop.app.test_cli_runner().invoke(args=["idempotency", *args])
    return result.exit_code, result.output


def test_show_prints_the_record_but_no_body_nor_cookie(shop: Shop) -> None:
    shop.post("/orders", "k1")
    code, output = run(shop, "show", "k1")
    assert code == 0
    lines = output.splitlines()
    assert lines[0] == "state: completed"
    assert "status: 201" in lines
    assert "  location: /orders/1" in lines
    assert lines.count("  x-custom: first") == lines.count("  x-custom: second") == 1
    body = b'{"run": 1, "received": "{\\"item\\": \\"book\\"}"}'
    assert f"body: {len(body)} bytes" in lines
    assert "book" not in output
    assert "secret" not in output


def test_show_finds_a_logged_in_users_record_by_scope(shop: Shop) -> None:
    client = shop.app.test_client()
    client.get("/login/42")
    client.post("/orders", data=b"{}", headers={"Idempotency-Key": "k1"})
    assert run(shop, "show", "k1", "--scope", "user:42")[0] == 0
    code, output = run(shop, "show", "k1")
    assert code == 1
    assert "no record for this key and scope" in output


def test_show_finds_a_record_by_its_authorization_header(shop: Shop) -> None:
    shop.post("/orders", "k1", headers={"Authorization": "Bearer token-1"})
    assert run(shop, "show", "k1", "--scope", "auth:Bearer token-1")[0] == 0
    assert run(shop, "show", "k1", "--scope", "auth:Bearer token-2")[0] == 1


def test_show_tells_a_running_request_and_a_response_not_stored(make_shop: MakeShop) -> None:
    shop = make_shop(IDEMPOTENCY_MAX_RESPONSE_BYTES=10)
    assert shop.post("/stream?chunks=3&size=10", "k1").data
    code, output = run(shop, "show", "k1")
    assert code == 0
    assert "response: not stored" in output
    shop.store.claim(lookup_key(ANONYMOUS_SCOPE, "k2", None), "owner", "fingerprint", 60)
    code, output = run(shop, "show", "k2")
    assert code == 0
    assert output.splitlines()[0] == "state: in_progress"
    assert output.splitlines()[1].startswith("lease expires: 20")


def test_forget_makes_the_key_new_again(shop: Shop) -> None:
    shop.post("/orders", "k1")
    code, output = run(shop, "forget", "k1")
    assert (code, output) == (0, "Forgot the record.\n")
    again = shop.post("/orders", "k1")
    assert again.get_json()["run"] == 2
    assert run(shop, "forget", "nope")[0] == 1


def test_purge_deletes_expired_records_and_counts_them(make_shop: MakeShop) -> None:
    clock = ManualClock(1_000_000.0)
    shop = make_shop(IDEMPOTENCY_STORE=MemoryStore(clock=clock), IDEMPOTENCY_TTL=60)
    shop.post("/orders", "k1")
    shop.post("/orders", "k2")
    clock.advance(30)
    shop.post("/orders", "k3")
    clock.advance(31)
    assert run(shop, "purge") == (0, "Purged 2 expired records.\n")
    assert run(shop, "purge") == (0, "Purged 0 expired records.\n")
    assert shop.record("k3") is not None


def test_init_creates_a_table_left_to_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = Flask(__name__, instance_path=str(tmp_path))
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    db = SQLAlchemy(app)
    ext = Idempotency(metadata=db.metadata)
    ext.init_app(app)
    engine = sa.create_engine(url)
    try:
        assert not sa.inspect(engine).has_table("idempotency_records")
        result = app.test_cli_runner().invoke(args=["idempotency", "init"])
        assert result.output == "The idempotency table is ready.\n"
        assert sa.inspect(engine).has_table("idempotency_records")
    finally:
        engine.dispose()
        ext.close(app)
        with app.app_context():
            db.engine.dispose()


def test_init_says_when_the_store_keeps_no_table(shop: Shop) -> None:
    assert run(shop, "init") == (0, "The idempotency store keeps no table: nothing to create.\n")


def test_stats_counts_the_records_by_state(make_shop: MakeShop) -> None:
    clock = ManualClock(1_000_000.0)
    shop = make_shop(IDEMPOTENCY_STORE=MemoryStore(clock=clock), IDEMPOTENCY_TTL=60)
    shop.post("/orders", "k1")
    clock.advance(61)
    shop.post("/orders", "k2")
    shop.store.claim(lookup_key(ANONYMOUS_SCOPE, "k3", None), "owner", "fingerprint", 60)
    assert run(shop, "stats") == (
        0,
        "in progress: 1\ncompleted: 1\nexpired, not yet purged: 1\n",
    )
    assert run(shop, "purge") == (0, "Purged 1 expired record.\n")
    assert run(shop, "stats")[1].endswith("expired, not yet purged: 0\n")


@pytest.mark.parametrize(
    "layers",
    [
        {"IDEMPOTENCY_ENCRYPTION_KEYS": [generate_key()]},
        {"IDEMPOTENCY_TELEMETRY": True},
        {"IDEMPOTENCY_ENCRYPTION_KEYS": [generate_key()], "IDEMPOTENCY_TELEMETRY": True},
    ],
    ids=["encryption", "telemetry", "both"],
)
def test_stats_counts_through_encryption_and_telemetry(
    make_shop: MakeShop, layers: dict[str, Any]
) -> None:
    shop = make_shop(**layers)
    shop.post("/orders", "k1")
    assert run(shop, "stats") == (0, "in progress: 0\ncompleted: 1\nexpired, not yet purged: 0\n")


class _Unreachable(MemoryStore):
    """A store whose server is down."""

    def get(self, key: str) -> Record | None:
        raise StoreError("connection refused")

    def forget(self, key: str) -> bool:
        raise StoreError("connection refused")

    def purge(self) -> int:
        raise StoreError("connection refused")

    def stats(self) -> RecordCounts:
        raise StoreError("connection refused")

    def create_table(self) -> None:
        raise StoreError("connection refused")


@pytest.mark.parametrize(
    "command", [["init"], ["stats"], ["purge"], ["show", "k1"], ["forget", "k1"]]
)
def test_a_store_error_is_one_line_and_exit_1_without_traceback(
    make_shop: MakeShop, command: list[str]
) -> None:
    shop = make_shop(IDEMPOTENCY_STORE=_Unreachable())
    result = shop.app.test_cli_runner().invoke(args=["idempotency", *command])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    (line,) = result.output.splitlines()
    assert line.startswith("Error: the idempotency store failed: connection refused")
