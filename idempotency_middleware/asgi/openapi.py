"""The middleware in an app's OpenAPI schema: the key header and the problem answers of
every operation it covers, in the shape its ``error_format`` gives them.

With FastAPI, after ``app.add_middleware(IdempotencyMiddleware, ...)``::

    install_openapi(app)

Any other schema (a dict, as FastAPI's ``app.openapi()`` or another generator returns)
goes through :func:`extend_openapi` with the middleware's ``options``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from idempotency_middleware.asgi.middleware import IdempotencyMiddleware
from idempotency_middleware.error_shapes import ErrorShape
from idempotency_middleware.errors import ConfigurationError
from idempotency_middleware.keys import HEADER_KEY_PATTERN, HeaderKey
from idempotency_middleware.options import Options
from idempotency_middleware.problems import ErrorFormat, ProblemType
from idempotency_middleware.protocol import covered

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "PROBLEM_SCHEMA",
    "PROBLEM_SCHEMA_NAME",
    "STRIPE_SCHEMA",
    "STRIPE_SCHEMA_NAME",
    "extend_openapi",
    "install_openapi",
]

PROBLEM_SCHEMA_NAME = "IdempotencyProblem"
"""The name of :data:`PROBLEM_SCHEMA` under ``components.schemas``."""

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": PROBLEM_SCHEMA_NAME,
    "description": "An RFC 9457 problem answered by the idempotency middleware.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "format": "uri", "description": "The problem's page."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What the client should do."},
        "retryable": {
            "type": "boolean",
            "description": "True when the same request, with the same key, may succeed later.",
        },
    },
    "required": ["type", "title", "status", "detail", "retryable"],
}

STRIPE_SCHEMA_NAME = "IdempotencyStripeError"
"""The name of :data:`STRIPE_SCHEMA` under ``components.schemas``."""

STRIPE_SCHEMA: dict[str, Any] = {
    "title": STRIPE_SCHEMA_NAME,
    "description": "A Stripe-style error answered by the idempotency middleware.",
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "description": "Such as idempotency_error."},
                "code": {"type": "string", "description": "Such as key_reused."},
                "message": {"type": "string", "description": "What the client should do."},
                "doc_url": {"type": "string", "format": "uri", "description": "Its page."},
            },
            "required": ["type", "code", "message", "doc_url"],
        }
    },
    "required": ["error"],
}

_COMPONENTS = {PROBLEM_SCHEMA_NAME: PROBLEM_SCHEMA, STRIPE_SCHEMA_NAME: STRIPE_SCHEMA}
_OPERATIONS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_RETRY_AFTER = {
    "description": "Seconds after which the same request may be sent again.",
    "schema": {"type": "integer"},
}


def _answers(stripe: bool) -> dict[int, str]:
    titles: dict[int, list[str]] = {}
    for problem in ProblemType:
        status = problem.stripe[0] if stripe else problem.status
        titles.setdefault(status, []).append(problem.title)
    return {status: "; ".join(names) for status, names in sorted(titles.items())}


_ANSWERS = {stripe: _answers(stripe) for stripe in (False, True)}
"""The statuses the middleware answers, each with the titles of its problems, as
problems (False) and in Stripe's statuses (True)."""


def _shape(chosen: ErrorFormat | ErrorShape) -> tuple[str, dict[str, Any], str | None]:
    """The media type and schema of the answers in the ``chosen`` format, and the name
    of the component that schema refers to."""
    if isinstance(chosen, ErrorShape):
        # Under the problems' own statuses: which ones a callable picks is not known here.
        return chosen.media_type, dict(chosen.schema), None
    name = STRIPE_SCHEMA_NAME if chosen == "stripe" else PROBLEM_SCHEMA_NAME
    media_type = "application/json" if chosen == "stripe" else "application/problem+json"
    return media_type, {"$ref": f"#/components/schemas/{name}"}, name


def _key_schema(key: HeaderKey) -> dict[str, Any]:
    # The values the middleware accepts, so that clients and fuzzers built from the
    # schema never send a key it answers with 400 key-invalid.
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": key.max_length,
        "pattern": HEADER_KEY_PATTERN,
    }


def _declared_schema(declared: dict[str, Any], key: HeaderKey, required: bool) -> dict[str, Any]:
    schema = {name: value for name, value in declared.items() if name == "title"}
    nullable = {"type": "null"} in declared.get("anyOf", [])
    if nullable and not required:
        # The handler's `str | None = None`: absent stays documented as null.
        return {**schema, "anyOf": [_key_schema(key), {"type": "null"}]}
    return {**schema, **_key_schema(key)}


def _key_parameter(operation: dict[str, Any], key: HeaderKey, required: bool) -> None:
    description = (
        "A unique key (a UUID) that makes retries of this request safe: every repeat with "
        "the same key gets the first response, with Idempotent-Replayed: true."
    )
    parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
    for parameter in parameters:
        if parameter.get("in") == "header" and parameter.get("name", "").lower() == key.name:
            # The handler declares the header too (to read it): one parameter, ours.
            required = parameter.get("required", False) or required
            parameter["required"] = required
            parameter["schema"] = _declared_schema(parameter.get("schema", {}), key, required)
            parameter.setdefault("description", description)
            return
    parameters.append(
        {
            "name": key.name,
            "in": "header",
            "required": required,
            "description": description,
            "schema": _key_schema(key),
        }
    )


def _problem_responses(
    operation: dict[str, Any], chosen: ErrorFormat | ErrorShape, components: dict[str, Any]
) -> None:
    media_type, body, name = _shape(chosen)
    if name is not None:
        components[name] = _COMPONENTS[name]
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, titles in _ANSWERS[chosen == "stripe"].items():
        response = responses.setdefault(str(status), {"description": titles})
        if titles not in response.get("description", ""):
            # Another answer of the same status (FastAPI's 422 validation error).
            response["description"] = f"{response.get('description', '')}; {titles}".lstrip("; ")
        content = response.setdefault("content", {})
        content[media_type] = {"schema": body}
        if status in (409, 503):
            response.setdefault("headers", {})["Retry-After"] = _RETRY_AFTER


def extend_openapi(schema: dict[str, Any], options: Options) -> dict[str, Any]:
    """Add to ``schema`` (an OpenAPI 3 document, changed in place and returned) what the
    middleware under ``options`` does to each operation it covers: the key header
    (required where a ``required`` template matches) and its problem answers, in the
    shape of its ``error_format``: the RFC 9457 problem, Stripe's error object with
    Stripe's statuses, or the ``schema`` and ``media_type`` of an
    :class:`~idempotency_middleware.error_shapes.ErrorShape`.

    Paths are matched as templates: ``/orders/{order_id}`` is covered by an ``include``
    of ``/orders/{id}``, and takes the options of a ``routes`` entry that matches it.
    """
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    for path, item in schema.get("paths", {}).items():
        route = options.for_path(path)
        for method, operation in item.items():
            if method not in _OPERATIONS or not covered(route, method.upper(), path):
                continue
            if isinstance(route.key, HeaderKey):
                _key_parameter(operation, route.key, route.required.matches(path))
            _problem_responses(operation, route.error_format, components)
    return schema


def install_openapi(app: FastAPI, options: Options | None = None) -> None:
    """Make ``app.openapi()`` document the middleware that ``app.add_middleware`` added
    (or the one given by its ``options``: ``middleware.options``).

    Raises :class:`~idempotency_middleware.errors.ConfigurationError` when the app has no
    such middleware: add it first.
    """
    if options is None:
        options = _added_options(app)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        # FastAPI keeps the schema it generated in openapi_schema and returns it from then on.
        if app.openapi_schema is None:
            app.openapi_schema = extend_openapi(generate(), options)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _added_options(app: FastAPI) -> Options:
    for middleware in app.user_middleware:
        if middleware.cls is IdempotencyMiddleware:
            # The same options the middleware builds when the app starts.
            kwargs: dict[str, Any] = dict(middleware.kwargs)
            return Options.build(**kwargs)
    raise ConfigurationError(
        "install_openapi: the app has no IdempotencyMiddleware; call "
        "app.add_middleware(IdempotencyMiddleware, store=...) first, or pass "
        "options=middleware.options"
    )
