"""The response recorder: what is kept of a response, and when its record completes
(SEMANTICS sections 5 and 6)."""

from __future__ import annotations

import pytest

from idempotency_middleware.recording import Recorder, declared_length
from idempotency_middleware.records import StoredResponse

HEADERS = ((b"content-type", b"text/plain"), (b"set-cookie", b"s=1"), (b"content-length", b"9"))
KEPT = ((b"content-type", b"text/plain"),)


def recorded(limit: int, chunks: list[bytes]) -> Recorder:
    recorder = Recorder(limit)
    recorder.start(201, HEADERS)
    for chunk in chunks:
        assert recorder.body(chunk) is None
    return recorder


CAPTURE_CASES: list[tuple[int, list[bytes], bytes | None]] = [
    (10, [], b""),
    (10, [b""], b""),
    (10, [b"hello"], b"hello"),
    (10, [b"hello", b"", b"world"], b"helloworld"),
    (10, [b"0123456789"], b"0123456789"),
    (10, [b"01234567890"], None),
    (10, [b"01234", b"567890"], None),
    (10, [b"0123456789", b"x"], None),
    # Once over the limit, nothing later makes it fit again.
    (10, [b"01234567890", b"", b"x"], None),
    (0, [b""], b""),
    (0, [b"x"], None),
]


@pytest.mark.parametrize(("limit", "chunks", "body"), CAPTURE_CASES)
def test_what_is_kept(limit: int, chunks: list[bytes], body: bytes | None) -> None:
    recorder = recorded(limit, chunks)
    assert recorder.overflowed is (body is None)
    result = recorder.end()
    assert result is not None
    assert result.raised is False
    if body is None:
        assert result.response is None
    else:
        assert result.response == StoredResponse(201, KEPT, body)


def test_the_last_chunk_completes_before_it_leaves() -> None:
    recorder = recorded(10, [b"ab"])
    result = recorder.body(b"cd", last=True)
    assert result is not None
    assert (result.raised, result.response) == (False, StoredResponse(201, KEPT, b"abcd"))
    # Once: nothing later finishes it again.
    assert recorder.body(b"", last=True) is None
    assert recorder.end() is None
    assert recorder.fail() is None


def test_the_chunk_that_reaches_the_declared_length_completes() -> None:
    recorder = Recorder(100)
    recorder.start(200, (), declared=4)
    assert recorder.body(b"ab") is None
    result = recorder.body(b"cd")
    assert result is not None
    assert result.response == StoredResponse(200, (), b"abcd")


def test_a_body_short_of_its_length_is_cut_short() -> None:
    recorder = Recorder(100)
    recorder.start(200, (), declared=4)
    recorder.sent()
    recorder.body(b"ab")
    result = recorder.end()
    assert result is not None
    assert (result.raised, result.started) == (True, True)


def test_an_app_that_never_started_raised() -> None:
    result = Recorder(100).end()
    assert result is not None
    assert (result.raised, result.started, result.status) == (True, False, 0)


def test_a_client_that_leaves_lets_the_app_finish_unless_over_the_cap() -> None:
    recorder = recorded(4, [b"ab"])
    assert recorder.drains
    recorder.body(b"cde")
    assert not recorder.drains
    result = recorder.gone()
    assert result is not None
    assert (result.raised, result.response) == (True, None)


def test_a_client_that_left_after_the_whole_body_completes() -> None:
    recorder = recorded(10, [b"ab"])
    result = recorder.gone()
    assert result is not None
    assert (result.raised, result.response) == (False, StoredResponse(201, KEPT, b"ab"))


@pytest.mark.parametrize(
    ("value", "length"), [(None, None), ("12", 12), (" 3 ", 3), ("x", None), ("-1", None)]
)
def test_declared_length(value: str | None, length: int | None) -> None:
    assert declared_length(value) == length
