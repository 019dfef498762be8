"""A new Flask app, written as a user would, with ``Idempotency(app)`` beside
Flask-SQLAlchemy: three identical POSTs sent at once to four gunicorn workers insert one
row on PostgreSQL, and with the table handed to the app's metadata, ``flask db migrate``
(Flask-Migrate's autogenerate, run for real) writes a migration that creates it; not
handed over, the table and its records survive ``flask db migrate`` and ``upgrade``.

Each app lives in the test's own directory; its PostgreSQL database is made for the test
and dropped afterwards.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.at_once import post_at_once, the_one_run
from tests.support.databases import count_rows, throwaway_database
from tests.support.servers import running_gunicorn

VIEW_SECONDS = 0.5
"""How long the purchase view runs: the duplicates arrive while it does."""

ITEM = {"item": "annual plan"}

HEAD = """
import os
import time

from flask import Flask, request
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from idempotency_middleware.flask import Idempotency

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["SHOP_DATABASE"]
db = SQLAlchemy(app)


class Purchase(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    item = db.Column(db.String(200), nullable=False)


def keep_legacy_tables(object, name, type_, reflected, compare_to):
    return not name.startswith("legacy_")

"""

MIGRATE = """
migrate = Migrate(app, db, include_object=keep_legacy_tables)
"""

IDEMPOTENCY = """
if os.environ.get("SHOP_MIGRATE_IDEMPOTENCY") == "1":
    Idempotency(app, metadata=db.metadata)
else:
    Idempotency(app)
"""

VIEW = f"""

@app.post("/buy")
def buy():
    db.session.add(Purchase(item=request.get_json()["item"]))
    db.session.commit()
    time.sleep({VIEW_SECONDS})
    return {{"bought": True}}, 201
"""


def _write_app(directory: Path, *, idempotency_first: bool = False) -> Path:
    extensions = IDEMPOTENCY + MIGRATE if idempotency_first else MIGRATE + IDEMPOTENCY
    directory.mkdir()
    (directory / "shop.py").write_text(HEAD + extensions + VIEW)
    return directory


def _flask(directory: Path, env: dict[str, str], *arguments: str) -> str:
    """Run the ``flask`` command on the app; its output."""
    return _run(directory, env, "-m", "flask", "--app", "shop", *arguments)


def _run(directory: Path, env: dict[str, str], *arguments: str) -> str:
    """Run Python in the app's directory; its output."""
    done = subprocess.run(
        [sys.executable, *arguments],
        cwd=directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.server
@pytest.mark.postgres
def test_three_posts_at_once_to_four_workers_insert_one_row(tmp_path: Path) -> None:
    directory = _write_app(tmp_path / "shop")
    with throwaway_database() as database:
        env = {"SHOP_DATABASE": database.render_as_string(hide_password=False)}
        # Created before the workers start, as a deployment migrates first.
        _run(directory, env, "-c", "import shop\nwith shop.app.app_context(): shop.db.create_all()")
        with running_gunicorn(
            "shop:app", log_path=tmp_path / "gunicorn.log", env=env, cwd=directory
        ) as server:
            responses = post_at_once(
                server.base_url,
                "/buy",
                3,
                json=ITEM,
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
        purchases = count_rows(database, "purchase")

    assert purchases == 1, server.log()
    the_one_run(responses)


def _autogenerate(directory: Path, *, opted_in: bool) -> str:
    """The migration ``flask db init`` and ``flask db migrate`` write for the app."""
    env = {
        "SHOP_DATABASE": f"sqlite:///{directory / 'shop.db'}",
        "SHOP_MIGRATE_IDEMPOTENCY": "1" if opted_in else "0",
    }
    _flask(directory, env, "db", "init")
    _flask(directory, env, "db", "migrate", "-m", "first")
    (migration,) = (directory / "migrations" / "versions").glob("*.py")
    return migration.read_text()


def _upgrade(migration: str) -> str:
    return migration.split("def downgrade")[0]


def test_flask_migrate_autogenerates_the_table_when_opted_in(tmp_path: Path) -> None:
    migration = _autogenerate(_write_app(tmp_path / "shop"), opted_in=True)

    assert "op.create_table('purchase'" in _upgrade(migration)
    assert "op.create_table('idempotency_records'" in _upgrade(migration)


def test_flask_migrate_does_not_create_the_table_unless_opted_in(tmp_path: Path) -> None:
    migration = _autogenerate(_write_app(tmp_path / "shop"), opted_in=False)

    assert "op.create_table('purchase'" in _upgrade(migration)
    assert "op.create_table('idempotency_records'" not in _upgrade(migration)


@pytest.mark.parametrize(
    "idempotency_first", [False, True], ids=["migrate-first", "idempotency-first"]
)
def test_flask_migrate_leaves_the_stores_own_table_alone(
    tmp_path: Path, idempotency_first: bool
) -> None:
    directory = _write_app(tmp_path / "shop", idempotency_first=idempotency_first)
    database = f"sqlite:///{directory / 'shop.db'}"
    env = {"SHOP_DATABASE": database}
    # A table of the user's that their models no longer define and their filter keeps.
    with closing(sqlite3.connect(directory / "shop.db")) as connection, connection:
        connection.execute("CREATE TABLE legacy_orders (id INTEGER PRIMARY KEY)")
    _flask(directory, env, "db", "init")
    _flask(directory, env, "db", "migrate", "-m", "first")
    (first,) = (directory / "migrations" / "versions").glob("*.py")
    _flask(directory, env, "db", "upgrade")
    # A stored response, which the next migrate and upgrade must keep.
    _run(
        directory,
        env,
        "-c",
        "import shop\n"
        "response = shop.app.test_client().post(\n"
        f"    '/buy', json={ITEM!r}, headers={{'Idempotency-Key': 'k-1'}}\n"
        ")\n"
        "assert response.status_code == 201, response.data",
    )
    second = _flask(directory, env, "db", "migrate", "-m", "second")
    _flask(directory, env, "db", "upgrade")

    assert "op.create_table('purchase'" in _upgrade(first.read_text())
    assert "idempotency_records" not in _upgrade(first.read_text())
    assert "legacy_orders" not in _upgrade(first.read_text())
    assert "No changes in schema detected" in second
    assert count_rows(database, "idempotency_records") == 1
