"""The options of one route or view: the app's, with its own over them, merged once for
ASGI and WSGI ``routes``, Django's view decorators and Flask's."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["EVERY_PATH", "SETTING_PREFIX", "overridden", "setting_error"]

EVERY_PATH = ("/", "/{path:path}")
"""The templates of ``required`` that cover a decorated view wherever it is routed."""

SETTING_PREFIX = "IDEMPOTENCY_"
"""Django settings and Flask config keys are the option names, upper-cased, after this."""


def overridden(
    arguments: Mapping[str, Any], changes: Mapping[str, Any], **coverage: Any
) -> dict[str, Any]:
    """The keyword arguments of :meth:`Options.build
    <idempotency_middleware.options.Options.build>` for a route or view: ``arguments``
    with ``changes`` over them, then ``coverage`` (the path templates that cover it).

    One key source per route (SEMANTICS 2): a ``key`` or ``header`` in ``changes``
    replaces the app's, whichever form either takes.
    """
    merged = dict(arguments)
    if "key" in changes or "header" in changes:
        merged.update(key=None, header=None)
    merged.update(changes)
    merged.update(coverage)
    return merged


def setting_error(message: str, names: Collection[str]) -> str:
    """``message``, from a check of the option it starts with, named after its setting:
    Django and Flask users wrote ``IDEMPOTENCY_TTL``, not ``ttl`` (``names``: the
    option names)."""
    option = re.match(r"[a-z_]+", message)
    if option is not None and option.group() in names:
        return f"{SETTING_PREFIX}{option.group().upper()}: {message}"
    return f"{SETTING_PREFIX}* settings: {message}"
