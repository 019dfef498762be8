"""Which store a URL names, for from_url and the operations commands."""

from __future__ import annotations

import pytest

from idempotency_middleware.stores import Backend, backend_of


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("memory://", "memory"),
        ("sqlite:///idempotency.db", "sql"),
        ("postgresql+psycopg://user@host/db", "sql"),
        ("postgres://user@host/db", "sql"),
        ("mysql+pymysql://user@host/db", "sql"),
        ("MariaDB://user@host/db", "sql"),
        ("redis://host:6379/0", "redis"),
        ("rediss://host:6379/0", "redis"),
        ("redis+cluster://host:7000", "redis"),
        ("redis+sentinel://host:26379/service", "redis"),
        ("ftp://host", None),
        ("no scheme", None),
    ],
)
def test_backend_of(url: str, backend: Backend | None) -> None:
    assert backend_of(url) == backend
