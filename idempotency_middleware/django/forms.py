"""HTML forms: the field the ``{% idempotency_key_input %}`` tag renders, and its key source.

A page that renders a fresh key into its form makes every submission of that rendering,
a double click as much as a resubmission after a timeout, one request to the server.
"""

from __future__ import annotations

from idempotency_middleware.keys import FormFieldKey, from_form

__all__ = ["FORM_FIELD", "FORM_KEY"]

FORM_FIELD = "idempotency_key"
"""The name of the hidden input ``{% idempotency_key_input %}`` renders."""

FORM_KEY: FormFieldKey = from_form(FORM_FIELD)
"""The key source reading that input, for ``IDEMPOTENCY_KEY = FORM_KEY`` or, on the form's
view only, ``@idempotency_required(key=FORM_KEY, in_flight="wait")``: a browser shows the
last answer it gets, so a double click should wait for the first one, not get a 409."""
