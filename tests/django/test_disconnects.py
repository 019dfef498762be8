"""A client that leaves releases nothing (SEMANTICS section 5): its request is finished
and stored, so the retry it sends is a replay; a stream cut short once it started
completes without a body, so the retry is 409 response-not-replayable, never a second
run."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import AsyncRequestFactory, override_settings

from idempotency_middleware import MemoryStore, RecordState
from idempotency_middleware.django import IdempotencyMiddleware
from idempotency_middleware.scope import ANONYMOUS_SCOPE, lookup_key
from tests.django import views
from tests.django.clients import ClientTestCase
from tests.faults.test_disconnects import LEAVING, assert_left_stream_runs_once
from tests.support.replays import is_replay
from tests.support.servers import running_server

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})


# In the cache: closing a half-read stream makes the test client close the database
# connections, which would end the TestCase's transaction under the database store.
@override_settings(IDEMPOTENCY_STORE="cache")
class StreamDisconnectTests(ClientTestCase):
    def test_a_stream_the_server_stops_early_is_finished_and_stored(self) -> None:
        first = self.post("/stream", ORDER, key="stream-1")
        chunks = iter(first)
        assert next(chunks) == b"first,"

        first.close()  # what a WSGI server does when the client has gone

        second = self.post("/stream", ORDER, key="stream-1")
        assert is_replay(second)
        assert second.content == b"first,second"  # type: ignore[attr-defined]
        assert views.calls["stream"] == 1


async def test_a_request_cancelled_when_its_client_left_is_stored() -> None:
    store = MemoryStore()
    entered, finish = asyncio.Event(), asyncio.Event()
    runs = 0

    async def view(request: HttpRequest) -> HttpResponse:
        nonlocal runs
        runs += 1
        entered.set()
        await finish.wait()
        return HttpResponse(f"run {runs}", status=201)

    def request() -> HttpRequest:
        return AsyncRequestFactory().post(
            "/echo", ORDER, content_type="application/json", headers={"Idempotency-Key": "k"}
        )

    with override_settings(IDEMPOTENCY_STORE=store):
        middleware = IdempotencyMiddleware(view)
        call = cast(Callable[[HttpRequest], Awaitable[HttpResponseBase]], middleware)
        first = asyncio.ensure_future(call(request()))
        await entered.wait()
        # Django's ASGI handler cancels the request when its client disconnects.
        first.cancel()
        await asyncio.gather(first, return_exceptions=True)
        finish.set()
        lookup = lookup_key(ANONYMOUS_SCOPE, "k", settings.SECRET_KEY.encode())
        for _ in range(100):
            record = store.get(lookup)
            if record is not None and record.state is RecordState.COMPLETED:
                break
            await asyncio.sleep(0.01)

        retry = await call(request())

    assert is_replay(retry)
    assert retry.content == b"run 1"  # type: ignore[attr-defined]
    assert runs == 1


@pytest.mark.server
@LEAVING
def test_an_async_stream_its_client_left_under_uvicorn_is_not_run_again(
    tmp_path: Path, chunk_bytes: int, chunks: int
) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.django.stream_server",
        "IDEMPOTENCY_TEST_RUNS": str(tmp_path / "runs"),
    }
    with running_server(
        "tests.django.stream_server:create_application",
        log_path=tmp_path / "server.log",
        env=env,
        workers=1,
    ) as server:
        assert_left_stream_runs_once(server, tmp_path / "runs", chunk_bytes, chunks)
