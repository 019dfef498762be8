"""The parts of a ``multipart/form-data`` body, without the boundary that delimits them.

Browsers draw a new random boundary for every submission, so two clicks on one form
send different bytes for the same fields: the key source and the fingerprint read the
parts instead.
"""

from __future__ import annotations

import re

__all__ = ["multipart_parts"]

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?')


def multipart_parts(body: bytes, content_type_header: str) -> list[tuple[bytes, bytes]]:
    """The (headers, content) of each part, in order, with CRLF or LF line endings;
    ValueError when there is no boundary."""
    match = _BOUNDARY.search(content_type_header)
    if match is None:
        raise ValueError("the multipart body has no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts = []
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break  # the close delimiter: what follows is the epilogue
        # RFC 7578 asks for CRLF, but hand-written clients send LF alone: each part's
        # line ending is the one its delimiter line ends with.
        eol = b"\r\n" if part.startswith(b"\r\n") else b"\n"
        head, sep, content = part.partition(eol + eol)
        if sep:
            parts.append((head.strip(b"\r\n"), content.removesuffix(eol)))
    return parts
