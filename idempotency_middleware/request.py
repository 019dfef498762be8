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


@dataclass(frozen=True, init=False)
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
    _first: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __init__(
        self,
        method: str,
        path: str,
        query_string: str = "",
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        principal: str | None = None,
    ) -> None:
        # Two are made for every request: one dict set at once costs half of the six
        # object.__setattr__ calls a frozen dataclass's own __init__ makes.
        object.__setattr__(
            self,
            "__dict__",
            {
                "method": method,
                "path": path,
                "query_string": query_string,
                "headers": headers,
                "body": body,
                "principal": principal,
            },
        )

    def _with(self, body: bytes, principal: str | None) -> Request:
        # The request once its body is read: the headers and what was found in them
        # carry over, so nothing is decoded or indexed twice.
        read = object.__new__(Request)
        fields = {**self.__dict__, "body": body, "principal": principal}
        fields.pop("_json", None)
        object.__setattr__(read, "__dict__", fields)
        return read

    def _index(self) -> dict[str, str]:
        # The first value of each name, built once in C: the middleware and the default
        # key, scope and fingerprint functions each look up a header or two.
        index = self._first
        if index is None:
            index = dict(reversed(self.headers))
            object.__setattr__(self, "_first", index)
        return index

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or None; the first line if repeated."""
        index = self._first
        return (index if index is not None else self._index()).get(name.lower())

    def header_values(self, name: str) -> list[str]:
        """Every line of header ``name``, in order."""
        name = name.lower()
        index = self._first if self._first is not None else self._index()
        if name not in index:
            return []
        if len(index) == len(self.headers):  # no name is repeated
            return [index[name]]
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
