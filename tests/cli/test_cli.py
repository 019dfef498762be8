"""``python -m idempotency_middleware`` against SQLite, PostgreSQL and Redis: what it
prints, its exit status, and what the store holds afterwards (SEMANTICS section 8)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Receive, Scope, Send
from idempotency_middleware.cli import main
from idempotency_middleware.scope import lookup_key
from idempotency_middleware.stores import from_url
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.codec import FORMAT_VERSION
from idempotency_middleware.stores.sql import SQLAlchemyStore
from idempotency_middleware.stores.sql_statements import PURGE_BATCH
from tests.cli.conftest import Target, open_target
from tests.redis.servers import REDIS_URL
from tests.stores.faces import database_url
from tests.support.databases import (
    POSTGRES_URL,
    drop_table,
    sql_store,
    sqlite_url,
    unique_table_name,
)

ROOT = Path(__file__).resolve().parents[2]

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run the command line in this process: ``(exit status, stdout, stderr)``."""
    monkeypatch.delenv("IDEMPOTENCY_STORE_URL", raising=False)
    monkeypatch.delenv("IDEMPOTENCY_SECRET", raising=False)

    def invoke(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


class _User:
    is_authenticated = True

    def __init__(self, identity: str) -> None:
        self.identity = identity


async def _created(scope: Scope, receive: Receive, send: Send) -> None:
    while (await receive()).get("more_body", False):
        pass
    headers = [(b"content-type", b"application/json"), (b"location", b"/orders/1")]
    await send({"type": "http.response.start", "status": 201, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"id": 1}'})


async def post(
    store: Store,
    key: str,
    *,
    user: str | None = None,
    headers: dict[str, str] | None = None,
    **options: Any,
) -> None:
    """One POST through the ASGI middleware on ``store``, as a user if given."""
    middleware = IdempotencyMiddleware(_created, store=store, **options)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if user is not None:
            scope["user"] = _User(user)
        await middleware(scope, receive, send)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.post(
            "/orders", content=b"{}", headers={"Idempotency-Key": key, **(headers or {})}
        )
    assert response.status_code == 201
    await store.aclose()


async def test_show_prints_a_record_the_middleware_wrote(target: Target, run: Run) -> None:
    await post(target.store, "order-1", user="42")
    code, out, err = run("show", "order-1", "--scope", "user:42", *target.arguments)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "state: completed"
    assert lines[1].startswith("expires: 20")
    assert lines[2:] == [
        "status: 201",
        "headers:",
        "  content-type: application/json",
        "  location: /orders/1",
        "body: 9 bytes",
    ]


async def test_show_of_an_unknown_key_or_scope_exits_2(target: Target, run: Run) -> None:
    await post(target.store, "order-1", user="42")
    for argv in (["show", "order-2", "--scope", "user:42"], ["show", "order-1"]):
        code, out, err = run(*argv, *target.arguments)
        assert (code, out) == (2, "")
        assert "no record for this key and scope" in err


async def test_forget_deletes_the_record_and_only_it(target: Target, run: Run) -> None:
    await post(target.store, "order-1")
    await post(target.store, "order-2")
    assert run("forget", "order-1", *target.arguments) == (0, "Forgot the record.\n", "")
    assert target.store.get(lookup_key("anonymous", "order-1", None)) is None
    assert target.store.get(lookup_key("anonymous", "order-2", None)) is not None
    code, _, err = run("forget", "order-1", *target.arguments)
    assert code == 2
    assert "no record" in err


async def test_the_written_scopes_name_what_the_middleware_derives(
    target: Target, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    authorization = "Bearer token-1"
    digest = hashlib.sha256(authorization.encode()).hexdigest()
    await post(target.store, "k", headers={"Authorization": authorization}, secret="s3cret")
    found = ["show", "k", "--secret", "s3cret", *target.arguments]
    assert run(*found, "--scope", f"auth:{authorization}")[0] == 0
    assert run(*found, "--scope", f"authorization:{digest}")[0] == 0
    assert run(*found, "--scope", f"authorization:{digest.upper()}")[0] == 0
    assert run(*found, "--scope", "auth:Bearer token-2")[0] == 2
    assert run(*found, "--scope", "anonymous")[0] == 2
    # The secret: from the environment, and a wrong one finds nothing.
    scope = f"authorization:{digest}"
    assert run("show", "k", "--scope", scope, *target.arguments)[0] == 2
    assert run("show", "k", "--scope", scope, "--secret", "other", *target.arguments)[0] == 2
    monkeypatch.setenv("IDEMPOTENCY_SECRET", "s3cret")
    assert run("show", "k", "--scope", scope, *target.arguments)[0] == 0


def test_a_malformed_authorization_digest_exits_2_saying_what_it_takes(
    target: Target, run: Run
) -> None:
    code, _, err = run("show", "k", "--scope", "authorization:Bearer x", *target.arguments)
    assert code == 2
    assert "64 hex digits of the SHA-256 of the Authorization header" in err


def _same_place(target: Target, **options: Any) -> Store:
    """Another store on the table or key prefix of ``target``."""
    url, option, value = target.arguments[1:4]
    return from_url(
        url, **{{"--table": "table_name", "--prefix": "prefix"}[option]: value}, **options
    )


async def test_stats_counts_by_state_and_purge_deletes_the_expired(
    target: Target, run: Run
) -> None:
    # A store whose clock runs two days behind writes what is, now, past its retention.
    behind = _same_place(target, clock=lambda: time.time() - 2 * 86_400)
    try:
        behind.claim("a" * 64, "owner", "f", 60)
        behind.complete("a" * 64, "owner", None, 60)
    finally:
        behind.close()
    target.store.claim("b" * 64, "owner", "f", 60)
    for key in ("c" * 64, "d" * 64):
        target.store.claim(key, "owner", "f", 60)
        target.store.complete(key, "owner", None, 3600)
    counts = "in progress: 1\ncompleted: 2\nexpired, not yet purged: {}\n"
    assert run("stats", *target.arguments) == (0, counts.format(1), "")
    # Redis drops a record by its own TTL: there is nothing to purge.
    purged = 0 if target.kind == "redis" else 1
    assert run("purge", *target.arguments) == (
        0,
        f"Purged {purged} expired record{'' if purged == 1 else 's'}.\n",
        "",
    )
    assert run("stats", *target.arguments) == (0, counts.format(1 - purged), "")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_init_creates_the_table_once(kind: str, run: Run, tmp_path: Path) -> None:
    url, table = database_url(kind, tmp_path), unique_table_name()
    engine = sa.create_engine(url)
    try:
        for _ in range(2):
            assert run("init", "--store", url, "--table", table) == (
                0,
                "The idempotency table is ready.\n",
                "",
            )
            assert sa.inspect(engine).has_table(table)
    finally:
        engine.dispose()
        drop_table(url, table)


def test_init_says_a_redis_store_needs_no_table(run: Run) -> None:
    assert run("init", "--store", REDIS_URL) == (
        0,
        "The idempotency store keeps no table: nothing to create.\n",
        "",
    )


def test_a_sql_command_before_init_exits_2_pointing_at_init(run: Run, tmp_path: Path) -> None:
    (tmp_path / "idempotency.db").touch()
    code, out, err = run("stats", "--store", sqlite_url(tmp_path))
    assert (code, out) == (2, "")
    assert "no such table" in err
    assert "run init" in err


@pytest.mark.parametrize("command", ["stats", "purge", "show", "forget"])
def test_a_missing_sqlite_file_exits_2_and_stays_missing(
    command: str, run: Run, tmp_path: Path
) -> None:
    typo = tmp_path / "typo.db"
    key = [] if command in ("stats", "purge") else ["k1"]
    code, out, err = run(command, *key, "--store", f"sqlite:///{typo}")
    assert (code, out) == (2, "")
    assert f"no SQLite database at {typo}" in err
    assert "check the path, or run init to create it" in err
    assert not typo.exists()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_purge_deletes_every_expired_record_in_batches(kind: str, run: Run, tmp_path: Path) -> None:
    count = 2 * PURGE_BATCH + 7
    url = database_url(kind, tmp_path)
    with sql_store(url) as store:
        past = time.time() - 10
        engine = sa.create_engine(url)
        try:
            with engine.begin() as connection:
                rows = [_expired_row(f"{index:064x}", past) for index in range(count)]
                connection.execute(store.table.insert(), rows)
        finally:
            engine.dispose()
        store.claim("f" * 64, "owner", "f", 60)
        arguments = ["--store", url, "--table", store.table.name]
        assert run("purge", *arguments) == (0, f"Purged {count} expired records.\n", "")
        assert run("stats", *arguments)[1] == (
            "in progress: 1\ncompleted: 0\nexpired, not yet purged: 0\n"
        )


def _expired_row(key: str, expires_at: float) -> dict[str, Any]:
    return {
        "key": key,
        "state": "completed",
        "owner": "owner",
        "fingerprint": "f",
        "expires_at": expires_at,
        "status": None,
        "headers": None,
        "body": None,
        "replayable": False,
        "format_version": FORMAT_VERSION,
        "created_at": expires_at - 60,
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give --store URL or set IDEMPOTENCY_STORE_URL"),
        (["--store", "bogus://x"], "store URL scheme 'bogus' is not supported"),
        (["--store", "memory://"], "memory:// is the store of one running process"),
        (["--store", "postgresql://host:port/db"], "cannot use the store URL"),
        (["--store", REDIS_URL, "--table", "t"], "--table and --schema apply to SQL"),
        (["--store", "sqlite:///x.db", "--prefix", "p:"], "--prefix applies to Redis"),
    ],
)
def test_a_wrong_store_argument_exits_2_saying_what_to_give(
    argv: list[str], message: str, run: Run
) -> None:
    code, out, err = run("stats", *argv)
    assert (code, out) == (2, "")
    assert err.startswith("idempotency-middleware stats: error: ")
    assert message in err


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test", id="postgres"),
        pytest.param("redis://:hunter2@127.0.0.1:1/0", id="redis"),
    ],
)
def test_a_store_out_of_reach_exits_2_without_showing_the_password(url: str, run: Run) -> None:
    code, out, err = run("show", "k", "--store", url)
    assert (code, out) == (2, "")
    assert "Check the URL and that the server is running" in err
    assert "127.0.0.1:1" in err
    assert "hunter2" not in err


def _subprocess(*argv: str, store_url: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "IDEMPOTENCY_STORE_URL": store_url}
    environment.pop("IDEMPOTENCY_SECRET", None)
    return subprocess.run(
        [sys.executable, "-m", "idempotency_middleware", *argv],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.postgres
async def test_a_real_process_manages_a_postgresql_store_from_the_environment() -> None:
    table = unique_table_name()
    url = POSTGRES_URL
    try:
        created = _subprocess("init", "--table", table, store_url=url)
        assert (created.returncode, created.stdout) == (0, "The idempotency table is ready.\n")
        store = SQLAlchemyStore(url, table_name=table, create_table=False)
        try:
            await post(store, "order-1", user="7")
            shown = _subprocess(
                "show", "order-1", "--scope", "user:7", "--table", table, store_url=url
            )
            assert shown.returncode == 0, shown.stderr
            assert "status: 201" in shown.stdout.splitlines()
            gone = _subprocess(
                "forget", "order-1", "--scope", "user:7", "--table", table, store_url=url
            )
            assert (gone.returncode, gone.stdout) == (0, "Forgot the record.\n")
            assert store.get(lookup_key("user:7", "order-1", None)) is None
            unknown = _subprocess(
                "show", "order-1", "--scope", "user:7", "--table", table, store_url=url
            )
            assert (unknown.returncode, unknown.stdout) == (2, "")
            assert "no record for this key and scope" in unknown.stderr
        finally:
            store.close()
    finally:
        drop_table(url, table)


def test_a_real_process_counts_a_redis_stores_records(target_redis: Target) -> None:
    target_redis.store.claim("a" * 64, "owner", "f", 60)
    counted = _subprocess("stats", *target_redis.arguments[2:], store_url=REDIS_URL)
    assert (counted.returncode, counted.stderr) == (0, "")
    assert counted.stdout == "in progress: 1\ncompleted: 0\nexpired, not yet purged: 0\n"


def test_a_real_process_without_a_command_prints_its_usage_and_exits_2() -> None:
    finished = _subprocess(store_url=REDIS_URL)
    assert finished.returncode == 2
    assert "usage: idempotency-middleware" in finished.stderr
    assert "init" in finished.stderr


@pytest.fixture
def target_redis(tmp_path: Path) -> Iterator[Target]:
    yield from open_target("redis", tmp_path)
