"""Where the idempotency key comes from, and what a valid key is (SEMANTICS section 2).

A key source is any callable taking the neutral :class:`~idempotency_middleware.request.Request`
and returning the key, or None when the request carries none. It raises
:class:`InvalidKeyError` for a key that is present but unusable, which the middleware
answers with 400 ``key-invalid``; a key is never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from idempotency_middleware.errors import ConfigurationError, IdempotencyError
from idempotency_middleware.multipart import multipart_parts
from idempotency_middleware.request import Request

__all__ = [
    "DEFAULT_MAX_KEY_LENGTH",
    "HEADER_KEY_PATTERN",
    "FormFieldKey",
    "HeaderKey",
    "HeadersKey",
    "InvalidKeyError",
    "JsonPointerKey",
    "KeySource",
    "from_form",
    "from_header",
    "from_headers",
    "from_json",
    "parse_key",
    "validate_key",
]

DEFAULT_MAX_KEY_LENGTH = 255

KeySource = Callable[[Request], "str | None"]
"""A function of the request returning the key, or None when there is none."""

HEADER_KEY_PATTERN = (
    r"^(?:[\x21\x23-\x2b\x2d-\x7e](?:[\x20-\x2b\x2d-\x7e]*[\x21-\x2b\x2d-\x7e])?"
    r'|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])+")$'
)
"""The header values :func:`parse_key` accepts, as a regular expression that JSON Schema
(ECMA-262) and Python read alike: a bare key of printable ASCII without a comma, that
neither starts with ``"`` nor starts or ends with a space (which servers strip), or a
non-empty quoted string. The length limit is the caller's: it counts the whole value.
"""


class InvalidKeyError(IdempotencyError):
    """A key is present but cannot be used; answered with 400 ``key-invalid``.

    User key functions raise it too; its message becomes the problem's ``detail``.
    """

    status = 400


def _printable(text: str) -> bool:
    # Printable ASCII is 0x20 to 0x7e: the two checks in C cost less than a regex match.
    return text.isascii() and text.isprintable()


def validate_key(key: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> str:
    """Return ``key`` if it is 1 to ``max_length`` printable ASCII characters."""
    if not key:
        raise InvalidKeyError("The idempotency key is empty; send 1 or more characters.")
    if len(key) > max_length:
        raise InvalidKeyError(
            f"The idempotency key has {len(key)} characters; at most {max_length} are allowed."
        )
    if not _printable(key):
        raise InvalidKeyError(
            "The idempotency key holds a control or non-ASCII character; "
            "use printable ASCII only (a UUID is a good key)."
        )
    return key


def _parse_sf_string(value: str) -> str:
    # RFC 9651 section 4.2.5: only \" and \\ are escapes, and the closing quote ends it.
    out: list[str] = []
    i = 1
    while i < len(value):
        char = value[i]
        if char == "\\":
            if i + 1 >= len(value) or value[i + 1] not in '"\\':
                raise InvalidKeyError(
                    'The quoted idempotency key has a backslash not followed by " or \\.'
                )
            out.append(value[i + 1])
            i += 2
        elif char == '"':
            if i != len(value) - 1:
                raise InvalidKeyError(
                    "The quoted idempotency key has characters after its closing quote."
                )
            return "".join(out)
        else:
            out.append(char)
            i += 1
    raise InvalidKeyError("The quoted idempotency key has no closing quote.")


def parse_key(value: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> str:
    """Parse one header value: a Structured Field string (``"abc"``) or a bare key (``abc``).

    Both spell the same key. A bare key may not hold a comma, because servers join
    repeated header lines with commas and the two cannot be told apart.
    """
    value = value.strip(" \t")
    if value.startswith('"'):
        if not _printable(value):
            validate_key(value, max_length=len(value))
        return validate_key(_parse_sf_string(value), max_length=max_length)
    if "," in value:
        raise InvalidKeyError(
            "The idempotency key holds a comma, or the header was sent more than once; "
            "send one key without commas, or quote it as a string."
        )
    return validate_key(value, max_length=max_length)


class HeaderKey:
    """The key is the value of one request header (``Idempotency-Key`` by default)."""

    needs_body = False

    def __init__(self, name: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> None:
        self.name = name.lower()
        self.max_length = max_length

    def __call__(self, request: Request) -> str | None:
        values = request.header_values(self.name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidKeyError(
                f"The {self.name} header was sent {len(values)} times; send it once."
            )
        return parse_key(values[0], max_length=self.max_length)

    def __repr__(self) -> str:
        return f"from_header({self.name!r})"


class HeadersKey:
    """The key is the value of whichever of several headers is present, such as a
    delivery id that one provider sends as ``svix-id`` and another as ``webhook-id``.

    Present in several, they must agree: two different values make the key ambiguous,
    which is answered 400 ``key-invalid`` rather than guessed.
    """

    needs_body = False

    def __init__(self, names: tuple[str, ...], *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> None:
        if not names:
            raise ConfigurationError("from_headers needs at least one header name")
        self.sources = tuple(HeaderKey(name, max_length=max_length) for name in names)

    def __call__(self, request: Request) -> str | None:
        found = {source.name: key for source in self.sources if (key := source(request))}
        if len(set(found.values())) > 1:
            raise InvalidKeyError(
                f"The headers {' and '.join(found)} name different ids; send one of them, "
                "or the same id in each."
            )
        return next(iter(found.values()), None)

    def __repr__(self) -> str:
        return f"from_headers{tuple(source.name for source in self.sources)!r}"


def _resolve_pointer(document: Any, pointer: str) -> Any:
    # RFC 6901; a pointer that does not resolve means "no key" (SEMANTICS section 2).
    target = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return None
    return target


def _body_field_key(value: Any, where: str, max_length: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidKeyError(f"{where} is a {type(value).__name__}; it must be a string.")
    return validate_key(str(value), max_length=max_length)


class JsonPointerKey:
    """The key is a field of a JSON body, given by a JSON Pointer such as ``/id``."""

    needs_body = True

    def __init__(self, pointer: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> None:
        if pointer and not pointer.startswith("/"):
            raise ConfigurationError(
                f"key: the JSON pointer {pointer!r} must start with '/', such as '/{pointer}'"
            )
        self.pointer = pointer
        self.max_length = max_length

    def __call__(self, request: Request) -> str | None:
        if not request.body:
            return None
        try:
            document = request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidKeyError(
                f"The idempotency key is read from the JSON body at {self.pointer}, "
                f"but the body is not valid JSON ({exc}); send a JSON body."
            ) from exc
        value = _resolve_pointer(document, self.pointer)
        return _body_field_key(value, f"The body field at {self.pointer}", self.max_length)

    def __repr__(self) -> str:
        return f"from_json({self.pointer!r})"


def _multipart_field(body: bytes, content_type_header: str, name: str) -> str | None:
    try:
        parts = multipart_parts(body, content_type_header)
    except ValueError as exc:
        raise InvalidKeyError("The multipart body has no boundary; send a valid form.") from exc
    wanted = f'name="{name}"'.encode("latin-1")
    values = [
        content
        for head, content in parts
        if b"filename=" not in head
        and any(
            line.lower().startswith(b"content-disposition") and wanted in line
            for line in head.splitlines()
        )
    ]
    if len(values) > 1:
        raise InvalidKeyError(f"The form field {name!r} was sent {len(values)} times.")
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidKeyError(f"The form field {name!r} is not UTF-8 text.") from exc


class FormFieldKey:
    """The key is a field of an HTML form body (urlencoded or multipart), such as the
    hidden input a page renders to protect its "buy" button."""

    needs_body = True

    def __init__(self, name: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> None:
        self.name = name
        self.max_length = max_length

    def __call__(self, request: Request) -> str | None:
        content_type = request.content_type
        if content_type == "application/x-www-form-urlencoded":
            try:
                fields = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError as exc:
                raise InvalidKeyError("The form body is not UTF-8 text.") from exc
            values = fields.get(self.name, [])
            if len(values) > 1:
                raise InvalidKeyError(f"The form field {self.name!r} was sent {len(values)} times.")
            value = values[0] if values else None
        elif content_type == "multipart/form-data":
            value = _multipart_field(request.body, request.header("content-type") or "", self.name)
        else:
            return None
        return _body_field_key(value, f"The form field {self.name!r}", self.max_length)

    def __repr__(self) -> str:
        return f"from_form({self.name!r})"


def from_header(name: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> HeaderKey:
    """Read the key from header ``name`` (webhook delivery ids: ``X-GitHub-Delivery``, ...)."""
    return HeaderKey(name, max_length=max_length)


def from_headers(*names: str, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> HeadersKey:
    """Read the key from whichever of headers ``names`` is present; present in several,
    they must hold the same key."""
    return HeadersKey(names, max_length=max_length)


def from_json(pointer: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> JsonPointerKey:
    """Read the key from the JSON body at ``pointer`` (RFC 6901), e.g. ``"/id"``."""
    return JsonPointerKey(pointer, max_length=max_length)


def from_form(name: str, *, max_length: int = DEFAULT_MAX_KEY_LENGTH) -> FormFieldKey:
    """Read the key from form field ``name`` (urlencoded or multipart)."""
    return FormFieldKey(name, max_length=max_length)
