"""Path templates such as ``/orders/{id}``, matched before routing (SEMANTICS section 1)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from idempotency_middleware.errors import ConfigurationError

__all__ = ["PathTable", "PathTemplates"]

_V = TypeVar("_V")

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::(path|str))?\}")


def _compile(option: str, template: str) -> str:
    if not isinstance(template, str) or not template.startswith("/"):
        raise ConfigurationError(f"{option}: path template {template!r} must start with '/'")
    pattern = ""
    position = 0
    for match in [*_PARAM.finditer(template), None]:
        literal = template[position : match.start() if match else len(template)]
        if "{" in literal or "}" in literal:
            raise ConfigurationError(
                f"{option}: path template {template!r} has a malformed parameter; "
                "write {name} or {name:path}"
            )
        pattern += re.escape(literal)
        if match is not None:
            pattern += ".+" if match.group(2) == "path" else "[^/]+"
            position = match.end()
    return pattern


class PathTemplates:
    """A set of path templates: ``{name}`` matches one segment, ``{name:path}`` the rest."""

    def __init__(self, templates: Iterable[str], *, option: str = "path templates") -> None:
        if isinstance(templates, str):
            raise ConfigurationError(
                f"{option} must be a list of path templates, such as [{templates!r}], not a string"
            )
        self.templates = tuple(templates)
        patterns = [_compile(option, t) for t in self.templates]
        self._each = tuple(zip(self.templates, map(re.compile, patterns), strict=True))
        self._regex = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def matches(self, path: str) -> bool:
        """True if ``path`` matches one of the templates."""
        return self._regex is not None and self._regex.fullmatch(path) is not None

    def template_of(self, path: str) -> str | None:
        """The first template that ``path`` matches, or None."""
        for template, regex in self._each:
            if regex.fullmatch(path) is not None:
                return template
        return None


class PathTable(Generic[_V]):
    """Values by path template; :meth:`lookup` answers the value of the first template,
    in the order given, that a path matches."""

    def __init__(self, entries: Mapping[str, _V], *, option: str = "path templates") -> None:
        self.entries = dict(entries)
        self._values = list(self.entries.values())
        # One alternation with a group per template: the group that matched names the
        # value, so a lookup is one regular expression whatever the number of routes.
        patterns = [f"(?P<t{i}>{_compile(option, t)})" for i, t in enumerate(self.entries)]
        self._regex = re.compile("|".join(patterns)) if patterns else None

    def __bool__(self) -> bool:
        return self._regex is not None

    def lookup(self, path: str) -> _V | None:
        """The value of the first template ``path`` matches, or None."""
        if self._regex is None:
            return None
        match = self._regex.fullmatch(path)
        if match is None or match.lastgroup is None:
            return None
        return self._values[int(match.lastgroup[1:])]
