"""The hidden input that lets an HTML form protect its submit button (SEMANTICS 2)."""

from __future__ import annotations

import uuid

from flask import current_app
from markupsafe import Markup

from idempotency_middleware.keys import FormFieldKey

__all__ = ["DEFAULT_FIELD", "idempotency_key_input"]

DEFAULT_FIELD = "idempotency_key"


def _field_name() -> str:
    extension = current_app.extensions.get("idempotency")
    key = None if extension is None else extension.get_options().key
    return key.name if isinstance(key, FormFieldKey) else DEFAULT_FIELD


def idempotency_key_input(name: str | None = None) -> Markup:
    """``<input type="hidden" name="idempotency_key" value="...">`` with a fresh UUID,
    for ``{{ idempotency_key_input() }}`` inside a ``<form>``.

    Each rendering of the page draws a new key, and every click on that page's button
    sends the same one: the first click runs, the others get its answer. The field's
    name is the app's ``IDEMPOTENCY_KEY = keys.from_form(...)`` field, else ``name``
    or ``idempotency_key`` (match the view's ``protect(key=keys.from_form(...))``).
    With no key source configured, the extension reads ``idempotency_key`` by itself.
    """
    field = name or _field_name()
    return Markup('<input type="hidden" name="{}" value="{}">').format(field, uuid.uuid4())
