"""``auto_window`` per view: ``@ext.protect(auto_window=N)`` de-duplicates that view's
keyless writes only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from flask import Flask

from idempotency_middleware import MemoryStore
from idempotency_middleware.flask import Idempotency


def test_a_protected_view_sets_its_own_window(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(IDEMPOTENCY_STORE=MemoryStore())
    ext = Idempotency(app)
    runs: Counter[str] = Counter()

    @app.post("/windowed")
    @ext.protect(auto_window=60)
    def windowed() -> tuple[str, int]:
        runs["windowed"] += 1
        return "created", 201

    @app.post("/plain")
    def plain() -> tuple[str, int]:
        runs["plain"] += 1
        return "created", 201

    client = app.test_client()
    first = client.post("/windowed", json={"item": "book"})
    again = client.post("/windowed", json={"item": "book"})
    assert first.headers.get("Idempotent-Replayed") is None
    assert again.headers.get("Idempotent-Replayed") == "true"
    client.post("/plain", json={"item": "book"})
    client.post("/plain", json={"item": "book"})
    assert runs == Counter(windowed=1, plain=2)
