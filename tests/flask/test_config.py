"""Configuring the extension: its config keys, its errors at init_app, and the store it
picks when none is given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from idempotency_middleware import MemoryStore, keys
from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.flask import Idempotency
from idempotency_middleware.options import Options


@pytest.fixture
def closing() -> Iterator[list[tuple[Idempotency, Flask]]]:
    """Extensions whose default stores the test closes at its end."""
    opened: list[tuple[Idempotency, Flask]] = []
    yield opened
    for ext, app in opened:
        ext.close(app)


def new_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(config)

    @app.post("/orders")
    def order() -> tuple[str, int]:
        return "created", 201

    return app


def post(app: Flask, key: str) -> Any:
    return app.test_client().post("/orders", headers={"Idempotency-Key": key})


def rows(url: str, table: str = "idempotency_records") -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_every_option_is_a_config_key_listed_in_the_docstring(tmp_path: Path) -> None:
    app = new_app(tmp_path, IDEMPOTENCY_STORE=MemoryStore())
    ext = Idempotency(app)
    doc = Idempotency.__doc__ or ""
    for name in Options.names():
        key = f"IDEMPOTENCY_{name.upper()}"
        assert key in app.config
        assert f"``{key}``" in doc, key
    for key in ("DATABASE_URI", "TABLE_NAME", "TABLE_SCHEMA", "CREATE_TABLE"):
        assert f"``IDEMPOTENCY_{key}``" in doc
    assert app.config["IDEMPOTENCY_TTL"] == 86_400
    assert app.extensions["idempotency"] is ext


def test_config_set_before_init_app_wins(tmp_path: Path) -> None:
    app = new_app(tmp_path, IDEMPOTENCY_STORE=MemoryStore(), IDEMPOTENCY_TTL=60)
    ext = Idempotency(app)
    assert ext.get_options(app).ttl == 60
    assert app.config["IDEMPOTENCY_TTL"] == 60


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"IDEMPOTENCY_TTL": -1}, "IDEMPOTENCY_TTL: ttl must be a positive number"),
        ({"IDEMPOTENCY_IN_FLIGHT": "queue"}, "IDEMPOTENCY_IN_FLIGHT"),
        ({"IDEMPOTENCY_STORE": "memory://"}, "IDEMPOTENCY_STORE"),
        (
            {"IDEMPOTENCY_HEADER": "X-Key", "IDEMPOTENCY_KEY": keys.from_form("k")},
            "not both",
        ),
        ({"IDEMPOTENCY_TLL": 60}, "IDEMPOTENCY_TLL is not a setting"),
        ({"IDEMPOTENCY_STORE": None, "IDEMPOTENCY_TABLE_NAME": ""}, "IDEMPOTENCY_TABLE_NAME"),
    ],
)
def test_misconfiguration_raises_at_init_app(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    app = new_app(tmp_path, **({"IDEMPOTENCY_STORE": MemoryStore()} | config))
    with pytest.raises(ConfigurationError, match=message):
        Idempotency().init_app(app)
    assert "idempotency" not in app.extensions


def test_registering_twice_on_one_app_is_an_error(tmp_path: Path) -> None:
    app = new_app(tmp_path, IDEMPOTENCY_STORE=MemoryStore())
    ext = Idempotency(app)
    with pytest.raises(ConfigurationError, match="already registered"):
        ext.init_app(app)
    with pytest.raises(ConfigurationError, match="already registered"):
        Idempotency(app)


def test_one_extension_serves_several_apps(tmp_path: Path) -> None:
    ext = Idempotency()
    one = new_app(tmp_path / "one", IDEMPOTENCY_STORE=MemoryStore(), IDEMPOTENCY_TTL=10)
    two = new_app(tmp_path / "two", IDEMPOTENCY_STORE=MemoryStore(), IDEMPOTENCY_TTL=20)
    ext.init_app(one)
    ext.init_app(two)
    assert (ext.get_options(one).ttl, ext.get_options(two).ttl) == (10, 20)
    post(one, "k1")
    assert post(two, "k1").headers.get("Idempotent-Replayed") is None


def test_decorator_mistakes_raise_where_they_are_written() -> None:
    ext = Idempotency()
    with pytest.raises(ConfigurationError, match="in_flight"):
        ext.protect(in_flight="queue")
    with pytest.raises(ConfigurationError, match="set them app-wide"):
        ext.protect(store=MemoryStore())
    with pytest.raises(ConfigurationError, match="unknown options: colour"):
        ext.protect(colour="blue")

    def view() -> str:
        return ""

    ext.exempt(view)
    with pytest.raises(ConfigurationError, match="exempt and also required"):
        ext.required(view)


def test_the_default_store_is_a_sqlite_file_in_the_instance_folder(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    app = new_app(tmp_path)
    closing.append((Idempotency(app), app))
    assert post(app, "k1").status_code == 201
    database = tmp_path / "instance" / "idempotency.db"
    assert rows(f"sqlite:///{database}") == 1


def test_the_default_store_uses_sqlalchemy_database_uri(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = new_app(tmp_path, SQLALCHEMY_DATABASE_URI=url, IDEMPOTENCY_TABLE_NAME="idem")
    closing.append((Idempotency(app), app))
    post(app, "k1")
    assert rows(url, "idem") == 1
    assert not (tmp_path / "instance" / "idempotency.db").exists()


def test_idempotency_database_uri_wins(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    app_url, own_url = f"sqlite:///{tmp_path / 'app.db'}", f"sqlite:///{tmp_path / 'own.db'}"
    app = new_app(tmp_path, SQLALCHEMY_DATABASE_URI=app_url, IDEMPOTENCY_DATABASE_URI=own_url)
    db = SQLAlchemy(app)
    closing.append((Idempotency(app), app))
    post(app, "k1")
    assert rows(own_url) == 1
    with app.app_context():
        assert not sa.inspect(db.engine).has_table("idempotency_records")
        db.engine.dispose()


def test_the_default_store_reuses_the_flask_sqlalchemy_engine(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    # An in-memory database exists once per engine: the records are only visible
    # through Flask-SQLAlchemy if the store used its engine.
    app = new_app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite://")
    db = SQLAlchemy(app)
    closing.append((Idempotency(app), app))
    post(app, "k1")
    with app.app_context():
        count = db.session.execute(sa.text("SELECT count(*) FROM idempotency_records"))
        assert count.scalar_one() == 1
        engine = db.engine
    engine.dispose()


def test_a_registered_table_is_left_to_alembic(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = new_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    db = SQLAlchemy(app)
    ext = Idempotency()
    ext.register_table(db.metadata)
    ext.init_app(app)
    closing.append((ext, app))

    with app.app_context():
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        # Only once the connection is back: a disposed pool no longer closes it.
        db.engine.dispose()
    added = [change[1].name for change in diff if change[0] == "add_table"]
    assert added == ["idempotency_records"]
    with pytest.raises(ConfigurationError, match="before init_app"):
        ext.register_table(db.metadata)


def test_an_unregistered_table_is_not_in_the_apps_metadata(
    tmp_path: Path, closing: list[tuple[Idempotency, Flask]]
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    app = new_app(tmp_path, SQLALCHEMY_DATABASE_URI=url)
    db = SQLAlchemy(app)
    ext = Idempotency(app)
    closing.append((ext, app))
    assert "idempotency_records" not in db.metadata.tables
    with app.app_context():
        # Created by the store itself at init_app.
        assert sa.inspect(db.engine).has_table("idempotency_records")
        db.engine.dispose()
