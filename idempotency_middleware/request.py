"""The neutral request value that user functions (key, scope, fingerprint) receive.

Every adapter translates its framework's request into this one frozen value, so a
function written for FastAPI works unchanged under Django or Flask.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Request"]

_UNSET: Any = object()


@dataclass(frozen=True)
class Request:
    """A request as the middleware sees it.

    ``headers`` holds every header line in arrival order, names lower-cased, values
    decoded as Latin-1 (so every byte survives). ``body`` is the whole body when the
    middleware read it, else empty. ``principal`` is the authenticated user id the
    framework exposes (Django ``request.user``, Starlette ``scope["user"]``), if any.
    """

    method: str
    path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    principal: str | None = None
    _json: Any = field(default=_UNSET, init=False, repr=False, compare=False)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None; the first line if repeated."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        """Every line of header ``name``, in order."""
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON (cached); raises ValueError if it is not JSON, or is
        nested too deeply to parse."""
        if self._json is _UNSET:
            try:
                document = json.loads(self.body)
            except RecursionError as exc:
                raise ValueError("the JSON body is nested too deeply to parse") from exc
            object.__setattr__(self, "_json", document)
        return self._json
