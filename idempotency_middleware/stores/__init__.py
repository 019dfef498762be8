"""Where records live: pick one store and share it between the workers of a deployment.

``MemoryStore`` keeps records in one process (tests, the demo, a single worker);
``SQLAlchemyStore`` keeps them in a table of SQLite, PostgreSQL or MySQL/MariaDB, which
every worker process sees. Backends' drivers are imported only when their store is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.memory import MemoryStore

if TYPE_CHECKING:
    from idempotency_middleware.stores.sql import SQLAlchemyStore

__all__ = ["MemoryStore", "SQLAlchemyStore", "Store", "from_url"]

_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb")


def from_url(url: str, **options: Any) -> Store:
    """Build a store from a URL: ``memory://``, ``sqlite:///path``,
    ``postgresql+psycopg://...`` or ``mysql+pymysql://...``; ``options`` go to the store."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "memory":
        return MemoryStore(**options)
    if scheme in _SQL_SCHEMES:
        from idempotency_middleware.stores.sql import SQLAlchemyStore

        if scheme == "postgres":
            url = "postgresql" + url[len("postgres") :]
        store: Store = SQLAlchemyStore(url, **options)
        return store
    raise ConfigurationError(
        f"store URL scheme {scheme!r} is not supported; use memory://, sqlite:///path, "
        "postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
    )


def __getattr__(name: str) -> Any:
    # SQLAlchemy is an optional dependency: import it only when its store is asked for.
    if name == "SQLAlchemyStore":
        from idempotency_middleware.stores.sql import SQLAlchemyStore

        return SQLAlchemyStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
