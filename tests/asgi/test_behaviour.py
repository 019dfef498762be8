"""What only the ASGI middleware shows: set-up, bare ASGI apps and scopes, and HTTP
details of its replays. The rules every adapter shares are in tests/behaviour."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette

from idempotency_middleware import ConfigurationError, MemoryStore, from_json
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.types import Message, Receive, Scope, Send
from tests.asgi.conftest import Service, http_scope, raw_app, run_asgi

# -- set-up -----------------------------------------------------------------------------


def test_missing_store_is_a_configuration_error_naming_the_stores() -> None:
    with pytest.raises(ConfigurationError) as raised:
        IdempotencyMiddleware(Starlette())
    message = str(raised.value)
    assert "store" in message
    assert "MemoryStore" in message
    assert "SQLAlchemyStore" in message


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"store": object()}, "store"),
        ({"in_flight": "queue"}, "in_flight"),
        ({"on_store_error": "ignore"}, "on_store_error"),
        ({"lease": 0}, "lease"),
        ({"ttl": -1}, "ttl"),
        ({"methods": "POST"}, "methods"),
        ({"required": ["orders/{id}"]}, "orders/{id}"),
        ({"fingerprint": "body"}, "fingerprint"),
        ({"header": "X-Id", "key": from_json("/id")}, "header"),
    ],
)
def test_wrong_option_fails_at_construction_naming_it(options: dict[str, Any], named: str) -> None:
    options.setdefault("store", MemoryStore())
    with pytest.raises(ConfigurationError, match=re.escape(named)):
        IdempotencyMiddleware(Starlette(), **options)


def test_missing_store_fails_when_fastapi_builds_its_stack() -> None:
    app = FastAPI()
    app.add_middleware(IdempotencyMiddleware)  # see conftest
    with pytest.raises(ConfigurationError, match="MemoryStore"):
        app.build_middleware_stack()


async def test_bare_asgi_callable_is_protected() -> None:
    calls: Counter[str] = Counter()
    inner = raw_app(201, [(b"content-type", b"text/plain")], [b"made"], calls)
    app = IdempotencyMiddleware(inner, store=MemoryStore())
    scope = http_scope(path="/things", headers=[(b"idempotency-key", b"raw-1")])
    first = await run_asgi(app, dict(scope), [b"payload"])
    second = await run_asgi(app, dict(scope), [b"payload"])
    assert first.status == second.status == 201
    assert first.body == second.body == b"made"
    assert second.header_values(b"idempotent-replayed") == [b"true"]
    assert calls["raw"] == 1


@pytest.mark.parametrize("scope_type", ["lifespan", "websocket"])
async def test_non_http_scopes_pass_through_untouched(scope_type: str) -> None:
    seen: list[tuple[Scope, Receive, Send]] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": f"{scope_type}.disconnect"}

    async def send(message: Message) -> None:
        raise AssertionError("nothing is sent")

    scope: Scope = {"type": scope_type, "asgi": {"version": "3.0"}, "path": "/orders"}
    await IdempotencyMiddleware(inner, store=MemoryStore())(scope, receive, send)
    assert seen == [(scope, receive, send)]
    assert seen[0][0] is scope
    assert seen[0][1] is receive
    assert seen[0][2] is send


# -- replay (section 6) -----------------------------------------------------------------


async def test_replayed_204_has_no_content_length(service: Service) -> None:
    first = await service.post("/empty", "e204")
    second = await service.post("/empty", "e204")
    assert "content-length" not in first.headers
    assert "content-length" not in second.headers
