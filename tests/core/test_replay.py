"""What is stored of a response and how it is replayed (SEMANTICS section 6)."""

from __future__ import annotations

import pytest

from idempotency_middleware.records import Headers, StoredResponse
from idempotency_middleware.replay import (
    DEFAULT_NOT_STORED,
    is_storable,
    replay,
    storable_headers,
)

STORABLE = [
    (200, True),
    (201, True),
    (202, True),
    (204, True),
    (301, True),
    (302, True),
    (400, True),
    (404, True),
    (410, True),
    (422, True),
    (499, True),
    (401, False),
    (403, False),
    (407, False),
    (408, False),
    (409, False),
    (425, False),
    (429, False),
    (500, False),
    (502, False),
    (503, False),
    (504, False),
    (599, False),
]


@pytest.mark.parametrize(("status", "stored"), STORABLE)
def test_is_storable(status: int, stored: bool) -> None:
    assert is_storable(status) is stored


def test_default_not_stored() -> None:
    assert frozenset({401, 403, 407, 408, 409, 425, 429}) == DEFAULT_NOT_STORED


@pytest.mark.parametrize(
    ("status", "stored"), [(404, False), (409, True), (200, True), (500, False)]
)
def test_is_storable_configured(status: int, stored: bool) -> None:
    assert is_storable(status, frozenset({404})) is stored


HEADER_CASES: list[tuple[Headers, Headers]] = [
    (
        ((b"content-type", b"application/json"), (b"location", b"/orders/1")),
        ((b"content-type", b"application/json"), (b"location", b"/orders/1")),
    ),
    (
        (
            (b"Content-Type", b"text/plain"),
            (b"Set-Cookie", b"session=abc"),
            (b"set-cookie", b"csrf=def"),
            (b"Date", b"Tue, 01 Apr 2025 00:00:00 GMT"),
            (b"Content-Length", b"12"),
            (b"X-Request-Id", b"r1"),
        ),
        ((b"content-type", b"text/plain"), (b"x-request-id", b"r1")),
    ),
    (
        (
            (b"connection", b"keep-alive"),
            (b"keep-alive", b"timeout=5"),
            (b"proxy-connection", b"keep-alive"),
            (b"proxy-authenticate", b"Basic"),
            (b"transfer-encoding", b"chunked"),
            (b"upgrade", b"h2c"),
            (b"te", b"trailers"),
            (b"trailer", b"x-checksum"),
            (b"etag", b'"v1"'),
        ),
        ((b"etag", b'"v1"'),),
    ),
    (
        # Headers named by Connection are hop-by-hop too, in any case and spacing.
        (
            (b"x-a", b"1"),
            (b"Connection", b"X-Trace , x-Debug"),
            (b"X-Trace", b"t"),
            (b"x-debug", b"d"),
            (b"x-b", b"2"),
        ),
        ((b"x-a", b"1"), (b"x-b", b"2")),
    ),
    (
        ((b"connection", b"x-one"), (b"connection", b"x-two"), (b"x-one", b"1"), (b"x-two", b"2")),
        (),
    ),
    (
        # Order and repeated names are kept.
        (
            (b"link", b"</a>; rel=next"),
            (b"cache-control", b"no-store"),
            (b"link", b"</b>; rel=prev"),
            (b"vary", b"accept"),
            (b"link", b"</c>; rel=last"),
        ),
        (
            (b"link", b"</a>; rel=next"),
            (b"cache-control", b"no-store"),
            (b"link", b"</b>; rel=prev"),
            (b"vary", b"accept"),
            (b"link", b"</c>; rel=last"),
        ),
    ),
    ((), ()),
]


@pytest.mark.parametrize(("headers", "kept"), HEADER_CASES)
def test_storable_headers(headers: Headers, kept: Headers) -> None:
    assert storable_headers(headers) == kept


@pytest.mark.parametrize(
    ("stored", "replayed"),
    [
        (
            StoredResponse(201, ((b"content-type", b"application/json"),), b'{"id":1}'),
            StoredResponse(
                201,
                (
                    (b"content-type", b"application/json"),
                    (b"content-length", b"8"),
                    (b"idempotent-replayed", b"true"),
                ),
                b'{"id":1}',
            ),
        ),
        (
            StoredResponse(204, (), b""),
            StoredResponse(204, ((b"idempotent-replayed", b"true"),), b""),
        ),
        (
            StoredResponse(404, ((b"x", b"1"), (b"x", b"2")), b"\x00\xff" * 3),
            StoredResponse(
                404,
                (
                    (b"x", b"1"),
                    (b"x", b"2"),
                    (b"content-length", b"6"),
                    (b"idempotent-replayed", b"true"),
                ),
                b"\x00\xff" * 3,
            ),
        ),
    ],
)
def test_replay(stored: StoredResponse, replayed: StoredResponse) -> None:
    assert replay(stored) == replayed
