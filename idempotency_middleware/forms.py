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
    """The (headers, content) of each part, in order; ValueError when there is no boundary."""
    match = _BOUNDARY.search(content_type_header)
    if match is None:
        raise ValueError("the multipart body has no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts = []
    for part in body.split(delimiter)[1:]:
        head, sep, content = part.partition(b"\r\n\r\n")
        if sep:
            parts.append((head.strip(b"\r\n"), content.removesuffix(b"\r\n")))
    return parts
