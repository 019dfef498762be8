"""The body of a keyed request, as the fingerprint and a form key read it.

Django parses a ``multipart/form-data`` body straight from the stream, without keeping
the raw bytes: once a middleware above ours has read ``request.POST`` (a CSRF check, a
logger), ``request.body`` raises ``RawPostDataException``. The form is then written
back as multipart from the fields and files Django parsed, under the request's own
boundary, so the same form gives the same fingerprint, another form another one, and a
key in a form field is found. Browsers' part headers and the order of fields among
files are not kept, so the fingerprint differs from that of the raw body: it stays the
same as long as the same middleware reads the form first, which it does on every
request.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, RawPostDataException

from idempotency_middleware.errors import ConfigurationError

__all__ = ["request_body"]

_STREAM_READ = (
    "a middleware above IdempotencyMiddleware read the body of {method} {path} from its "
    "stream, so the body cannot be fingerprinted: move IdempotencyMiddleware above it in "
    "MIDDLEWARE, or read request.body there instead of the stream"
)


def request_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is over ``limit`` (at most DATA_UPLOAD_MAX_MEMORY_SIZE)."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        return None
    body: bytes | None
    try:
        # Read through request.body, so Django keeps it for request.POST and the view.
        body = request.body
    except RequestDataTooBig:
        return None
    except RawPostDataException as exc:
        # Django sets _files when it has parsed a form, from the stream or not.
        if not hasattr(request, "_files"):
            raise ConfigurationError(
                _STREAM_READ.format(method=request.method, path=request.path)
            ) from exc
        body = _parsed_form(request, limit)
    return None if body is None or len(body) > limit else body


def _disposition(name: str, filename: str | None = None) -> bytes:
    # Quotes escaped as the HTML standard's form encoding does.
    quoted = name.replace('"', "%22")
    value = f'Content-Disposition: form-data; name="{quoted}"'
    if filename is not None:
        value += f'; filename="{filename.replace(chr(34), "%22")}"'
    return value.encode("utf-8")


def _parsed_form(request: HttpRequest, limit: int) -> bytes | None:
    """The fields, then the files, of the form Django parsed, as a multipart body."""
    delimiter = b"--" + (request.content_params or {}).get("boundary", "").encode("latin-1")
    encoding = request.encoding or "utf-8"
    parts: list[bytes] = []
    size = 0
    for name, values in request.POST.lists():
        for value in values:
            parts.append(_disposition(name) + b"\r\n\r\n" + value.encode(encoding))
            size += len(parts[-1])
    for name, uploads in request.FILES.lists():
        for upload in uploads:
            size += upload.size or 0
            if size > limit:
                return None
            head = _disposition(name, upload.name or "")
            head += f"\r\nContent-Type: {upload.content_type}".encode("latin-1")
            upload.seek(0)
            content = upload.read()
            upload.seek(0)  # for the view
            parts.append(head + b"\r\n\r\n" + content)
    return b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--"
