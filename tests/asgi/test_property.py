"""Property: the replay equals the original but for the changes SEMANTICS section 6 lists.

Driven with a bare ASGI app and raw ``send``/``receive`` callables, so the order of
header lines, repeated names and binary values are observed exactly.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from idempotency_middleware import MemoryStore, Store
from idempotency_middleware.asgi import IdempotencyMiddleware
from idempotency_middleware.replay import DEFAULT_NOT_STORED
from idempotency_middleware.sealed import SEALED_PREFIX
from tests.asgi.conftest import http_scope, raw_app, run_asgi
from tests.support.databases import sql_store, sqlite_url

STORABLE = [status for status in range(200, 500) if status not in DEFAULT_NOT_STORED]
ADDED = {b"content-length", b"idempotent-replayed"}

Header = tuple[bytes, bytes]
Case = tuple[int, list[Header], list[bytes]]

# Names the replay keeps: never set-cookie, date, content-length or hop-by-hop ones.
names = st.from_regex(r"x-[a-z]{1,8}", fullmatch=True).map(str.encode)
# Any bytes but CR, LF and NUL, which no server sends in a header value (RFC 9110 5.5):
# a record holding them is refused as corrupted.
values = st.binary(max_size=40).map(lambda value: value.translate(None, b"\r\n\x00"))


@st.composite
def responses(draw: st.DrawFn) -> Case:
    status = draw(st.sampled_from(STORABLE))
    pool = draw(st.lists(names, min_size=1, max_size=4, unique=True))  # forces repeats
    headers = draw(st.lists(st.tuples(st.sampled_from(pool), values), max_size=8))
    body = b"" if status in (204, 304) else draw(st.binary(max_size=400))
    # Hypothesis draws constants it finds in the code: a body that starts like an
    # encrypted one is refused by a worker without keys, as docs/security-encryption.md says.
    assume(not body.startswith(SEALED_PREFIX))
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
    chunks = [body[start:end] for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    return status, headers, chunks


async def check_replay(
    status: int, headers: list[Header], chunks: list[bytes], store: Store | None = None
) -> None:
    calls: Counter[str] = Counter()
    store = MemoryStore() if store is None else store
    try:
        await check_with(store, calls, status, headers, chunks)
    finally:
        await store.aclose()


async def check_with(
    store: Store, calls: Counter[str], status: int, headers: list[Header], chunks: list[bytes]
) -> None:
    app = IdempotencyMiddleware(raw_app(status, headers, chunks, calls), store=store)
    scope = http_scope(path="/things", headers=[(b"idempotency-key", b"prop")])
    first = await run_asgi(app, dict(scope), [b"req", b"uest"])
    second = await run_asgi(app, dict(scope), [b"request"])
    body = b"".join(chunks)

    # The first caller gets the app's messages untouched.
    assert first.status == status
    assert first.headers == headers
    assert [m.get("body", b"") for m in first.messages[1:]] == chunks

    assert second.status == status
    assert second.body == body
    assert [line for line in second.headers if line[0] not in ADDED] == headers
    # RFC 9110 section 8.6: a 204 or 304 carries no Content-Length.
    expected_length = [] if status in (204, 304) else [str(len(body)).encode()]
    assert second.header_values(b"content-length") == expected_length
    assert second.header_values(b"idempotent-replayed") == [b"true"]
    assert calls["raw"] == 1


@settings(max_examples=50, deadline=None)
@given(responses())
def test_replay_equals_the_original(case: Case) -> None:
    asyncio.run(check_replay(*case))


@settings(max_examples=20, deadline=None)
@given(responses())
def test_replay_equals_the_original_through_sqlite(case: Case) -> None:
    # Binary header values and repeated names survive the SQL store's encoding too.
    with (
        tempfile.TemporaryDirectory() as directory,
        sql_store(sqlite_url(Path(directory))) as store,
    ):
        asyncio.run(check_replay(*case, store=store))
