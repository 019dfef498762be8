"""``{% load idempotency %}`` then ``{% idempotency_key_input %}`` inside a ``<form>``."""

from __future__ import annotations

import uuid

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from idempotency_middleware.django.forms import FORM_FIELD

register = template.Library()


@register.simple_tag
def idempotency_key_input(name: str = FORM_FIELD) -> SafeString:
    """A hidden input holding a fresh key (a random UUID) each time the form is rendered.

    Read it with ``IDEMPOTENCY_KEY = FORM_KEY`` (or ``keys.from_form(name)`` for another
    ``name``). The CSRF token is in the body too, so the clicks of one rendering send
    identical bodies: duplicates, not a reused key.
    """
    return format_html('<input type="hidden" name="{}" value="{}">', name, uuid.uuid4())
