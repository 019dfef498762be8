"""A client that leaves mid-response: it reads the status line and part of the body
over a raw socket, then resets the connection, as a browser tab closed mid-download or
a client that timed out does."""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["leave_mid_response"]


def leave_mid_response(
    base_url: str, path: str, headers: Mapping[str, str], body: bytes, *, read: int
) -> bytes:
    """POST ``body`` to ``path``, read the head and at least ``read`` bytes of the body,
    then reset the connection; the bytes received."""
    address = urlsplit(base_url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {address.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < read:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        # SO_LINGER 0: close() sends a reset, so the server learns at once that we left.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received
