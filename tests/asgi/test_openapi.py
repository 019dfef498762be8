"""The middleware in the OpenAPI schema that FastAPI generates: the key header and the
problem answers of the operations it covers, and nothing on the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from idempotency_middleware import ConfigurationError, ErrorShape, MemoryStore, Problem, from_json
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.asgi.openapi import extend_openapi, install_openapi
from idempotency_middleware.keys import HEADER_KEY_PATTERN
from idempotency_middleware.options import Options
from integrations.fastapi_app import create_app, create_webhook_app

PROBLEM = {"schema": {"$ref": "#/components/schemas/IdempotencyProblem"}}
STATUSES = ["400", "409", "413", "422", "503"]


@pytest.fixture
def orders_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'orders.db'}"


def header(operation: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [
        p
        for p in operation.get("parameters", [])
        if p["in"] == "header" and p["name"].lower() == name
    ]


def key_schema(max_length: int = 255) -> dict[str, Any]:
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": max_length,
        "pattern": HEADER_KEY_PATTERN,
    }


def assert_documented(
    operation: dict[str, Any], name: str, *, required: bool, max_length: int = 255
) -> None:
    (parameter,) = header(operation, name)
    assert parameter["required"] is required
    # Exactly the keys the middleware accepts; null too where a handler reads an optional one.
    schema = {name: value for name, value in parameter["schema"].items() if name != "title"}
    if not required and "anyOf" in schema:
        assert schema == {"anyOf": [key_schema(max_length), {"type": "null"}]}
    else:
        assert schema == key_schema(max_length)
    assert "retries" in parameter["description"]
    for status in STATUSES:
        assert operation["responses"][status]["content"]["application/problem+json"] == PROBLEM
    for status in ("409", "503"):
        assert operation["responses"][status]["headers"]["Retry-After"]["schema"] == {
            "type": "integer"
        }


def assert_untouched(operation: dict[str, Any], name: str = "idempotency-key") -> None:
    assert not header(operation, name)
    assert not set(STATUSES[:3] + STATUSES[4:]) & set(operation["responses"])


def test_the_orders_api_documents_its_key_and_problems(orders_url: str) -> None:
    schema = create_app(MemoryStore(), orders_url=orders_url).openapi()
    place = schema["paths"]["/orders"]["post"]
    assert_documented(place, "idempotency-key", required=False)
    # FastAPI's own 422 stays, beside the middleware's.
    unprocessable = place["responses"]["422"]
    assert set(unprocessable["content"]) == {"application/json", "application/problem+json"}
    assert unprocessable["description"].startswith("Validation Error; Idempotency key reused")
    problem = schema["components"]["schemas"]["IdempotencyProblem"]
    assert problem["required"] == ["type", "title", "status", "detail", "retryable"]
    assert problem["properties"]["retryable"]["type"] == "boolean"
    assert_untouched(schema["paths"]["/orders/{order_id}"]["get"])
    assert_untouched(schema["paths"]["/orders/count"]["get"])


def test_the_header_the_handler_reads_keeps_its_title_and_null(orders_url: str) -> None:
    schema = create_app(MemoryStore(), orders_url=orders_url).openapi()
    (parameter,) = header(schema["paths"]["/orders"]["post"], "idempotency-key")
    assert parameter["schema"] == {
        "title": "Idempotency-Key",
        "anyOf": [key_schema(), {"type": "null"}],
    }


def test_a_required_route_marks_the_header_required(orders_url: str) -> None:
    app = create_app(MemoryStore(), orders_url=orders_url, required=["/orders"])
    schema = app.openapi()
    assert_documented(schema["paths"]["/orders"]["post"], "idempotency-key", required=True)
    (parameter,) = header(schema["paths"]["/orders"]["post"], "idempotency-key")
    assert parameter["schema"] == {"title": "Idempotency-Key", **key_schema()}
    assert app.openapi() is schema
    assert len(header(schema["paths"]["/orders"]["post"], "idempotency-key")) == 1


def test_the_webhook_receiver_documents_its_delivery_header(orders_url: str) -> None:
    schema = create_webhook_app(MemoryStore(), orders_url=orders_url).openapi()
    receive = schema["paths"]["/webhooks/forms"]["post"]
    assert_documented(receive, "x-delivery-id", required=False)
    assert not header(receive, "idempotency-key")


class Event(BaseModel):
    id: str


def _app(**options: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/orders/{order_id}/pay")
    async def pay(order_id: int) -> dict[str, int]:
        return {"order": order_id}

    @app.patch("/internal/{name}")
    async def internal(name: str) -> dict[str, str]:
        return {"name": name}

    @app.post("/webhooks/stripe")
    async def stripe(event: Event) -> dict[str, str]:
        return {"id": event.id}

    @app.put("/orders/{order_id}")
    async def replace(order_id: int) -> dict[str, int]:
        return {"order": order_id}

    app.add_middleware(IdempotencyMiddleware, store=MemoryStore(), **options)
    install_openapi(app)
    return app


def test_templates_methods_and_route_key_sources_decide_what_is_documented() -> None:
    schema = _app(
        exclude=["/internal/{x}"],
        required=["/orders/{id}/pay"],
        routes={"/webhooks/stripe": {"key": from_json("/id")}},
    ).openapi()
    paths = schema["paths"]
    assert_documented(paths["/orders/{order_id}/pay"]["post"], "idempotency-key", required=True)
    assert_untouched(paths["/internal/{name}"]["patch"])
    assert_untouched(paths["/orders/{order_id}"]["put"])
    # The key is in the body there: the problem answers, and no header.
    stripe = paths["/webhooks/stripe"]["post"]
    assert not header(stripe, "idempotency-key")
    assert stripe["responses"]["409"]["content"]["application/problem+json"] == PROBLEM


def test_include_limits_the_operations_documented() -> None:
    schema = _app(include=["/webhooks/{name}"], methods=["POST", "PUT"]).openapi()
    paths = schema["paths"]
    assert_untouched(paths["/orders/{order_id}/pay"]["post"])
    assert_untouched(paths["/orders/{order_id}"]["put"])
    assert_documented(paths["/webhooks/stripe"]["post"], "idempotency-key", required=False)


def test_extend_openapi_works_on_any_schema_dict() -> None:
    schema: dict[str, Any] = {"openapi": "3.1.0", "paths": {"/a": {"post": {"responses": {}}}}}
    options = Options.build(store=MemoryStore(), header="X-Key", max_key_length=64)
    extended = extend_openapi(schema, options)
    assert_documented(extended["paths"]["/a"]["post"], "x-key", required=False, max_length=64)


def test_install_openapi_without_the_middleware_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"app\.add_middleware"):
        install_openapi(FastAPI())


def _error_content(schema: dict[str, Any], path: str, status: str) -> dict[str, Any]:
    content: dict[str, Any] = schema["paths"][path]["post"]["responses"][status]["content"]
    return content


def test_the_stripe_format_documents_stripe_errors_with_their_statuses() -> None:
    schema = _app(error_format="stripe").openapi()
    path = "/orders/{order_id}/pay"
    stripe = {"schema": {"$ref": "#/components/schemas/IdempotencyStripeError"}}
    for status in ("400", "409", "413", "503"):
        assert _error_content(schema, path, status) == {"application/json": stripe}
    # A reused key is 400 there, as at Stripe: FastAPI's 422 stays its own.
    assert "application/problem+json" not in _error_content(schema, path, "422")
    error = schema["components"]["schemas"]["IdempotencyStripeError"]
    assert error["properties"]["error"]["required"] == ["type", "code", "message", "doc_url"]
    assert "IdempotencyProblem" not in schema["components"]["schemas"]


def _render(problem: Problem) -> tuple[int, dict[str, str], bytes]:
    return problem.type.status, {"content-type": "application/vnd.shop+json"}, b"{}"


def test_a_callable_documents_the_schema_it_declares() -> None:
    declared = {"type": "object", "properties": {"code": {"type": "string"}}}
    shape = ErrorShape(_render, schema=declared, media_type="application/vnd.shop+json")
    schema = _app(error_format=shape).openapi()
    for status in STATUSES:
        content = _error_content(schema, "/orders/{order_id}/pay", status)
        assert content["application/vnd.shop+json"] == {"schema": declared}
        assert "application/problem+json" not in content


def test_a_bare_callable_documents_a_json_object() -> None:
    schema = _app(error_format=_render).openapi()
    content = _error_content(schema, "/orders/{order_id}/pay", "409")
    assert content == {"application/json": {"schema": {"type": "object"}}}


def test_each_route_documents_its_own_format() -> None:
    schema = _app(routes={"/webhooks/stripe": {"error_format": "stripe"}}).openapi()
    assert set(_error_content(schema, "/webhooks/stripe", "409")) == {"application/json"}
    pay = _error_content(schema, "/orders/{order_id}/pay", "409")
    assert pay == {"application/problem+json": PROBLEM}
