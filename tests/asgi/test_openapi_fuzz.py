"""Schemathesis against the example FastAPI apps: every request their OpenAPI schema
admits gets an answer the schema documents, and no 5xx; so the key header's schema admits
only keys the middleware accepts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("schemathesis", reason="schemathesis runs on Python 3.11 and later")

import schemathesis
from fastapi import FastAPI
from hypothesis import given, settings
from schemathesis import Case
from schemathesis.core.result import Ok

from idempotency_middleware import MemoryStore
from integrations.fastapi_app import create_app, create_webhook_app

ORDERS = {"POST /orders", "GET /orders/count", "GET /orders/{order_id}"}


@pytest.mark.parametrize(
    ("factory", "options", "labels"),
    [
        (create_app, {}, ORDERS),
        (create_app, {"required": ["/orders"]}, ORDERS),
        (create_webhook_app, {}, {"POST /webhooks/forms"}),
    ],
    ids=["key-optional", "key-required", "webhooks"],
)
def test_the_example_apis_answer_what_their_schemas_say(
    tmp_path: Path, factory: Callable[..., FastAPI], options: dict[str, Any], labels: set[str]
) -> None:
    store = MemoryStore()
    app = factory(store, orders_url=f"sqlite:///{tmp_path / 'orders.db'}", **options)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok)
        operations.append(result.ok())
    assert {operation.label for operation in operations} == labels
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=50, derandomize=True, deadline=None, database=None)
        def answers_as_documented(case: Case[Any]) -> None:
            # Each example is a first request: generated keys repeat across examples, and
            # a key reused with another body is answered 422 key-reused, as it should be.
            store.clear()
            case.call_and_validate()

        answers_as_documented()
