"""What a Django user observes: replay, problems, scope, failures and streams
(SEMANTICS sections 2 to 7), through the sync and the async test client."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import Client, override_settings

from tests.django import views
from tests.django.clients import ClientTestCase, assert_problem, replayed

ORDER = json.dumps({"item": "annual plan", "amount": 19_900})


def lines(response: HttpResponseBase) -> list[tuple[str, str]]:
    """The header lines a replay repeats, in order: all but those recomputed or added."""
    skipped = {"content-length", "idempotent-replayed"}
    return [(n.lower(), v) for n, v in response.items() if n.lower() not in skipped]


def body(response: HttpResponseBase) -> bytes:
    if isinstance(response, StreamingHttpResponse):
        if response.is_async:

            async def collect() -> bytes:
                return b"".join([chunk async for chunk in response])

            return async_to_sync(collect)()
        return b"".join(response)
    content: bytes = response.content  # type: ignore[attr-defined]
    return content


class SyncReplayTests(ClientTestCase):
    slow_path = "/slow"
    stream_path = "/stream"

    def test_a_repeat_gets_the_first_response_exactly_without_its_cookies(self) -> None:
        first = self.post("/echo", ORDER, key="order-1")
        second = self.post("/echo", ORDER, key="order-1")

        assert views.calls["echo"] == 1
        assert first.status_code == second.status_code == 201
        assert body(second) == body(first)
        assert lines(second) == lines(first)
        # X-Frame-Options comes from a middleware inside this one: it is part of what
        # was stored, not added again.
        assert second["X-Frame-Options"] == "DENY"
        assert second["Content-Length"] == str(len(body(first)))
        assert replayed(second)
        assert not replayed(first)
        assert first.cookies["session-ish"].value == "secret-1"
        assert not second.cookies

    def test_patch_is_covered_and_get_is_not(self) -> None:
        self.send("PATCH", "/echo", ORDER, key="patch-1")
        assert replayed(self.send("PATCH", "/echo", ORDER, key="patch-1"))
        self.send("GET", "/echo", key="get-1")
        assert not replayed(self.send("GET", "/echo", key="get-1"))
        assert views.calls["echo"] == 3

    def test_requests_without_a_key_run_every_time(self) -> None:
        for _ in range(2):
            assert not replayed(self.post("/echo", ORDER))
        assert views.calls["echo"] == 2

    def test_the_same_key_with_another_body_is_422(self) -> None:
        self.post("/echo", ORDER, key="order-1")
        other = json.dumps({"item": "monthly plan", "amount": 1_900})

        assert_problem(self.post("/echo", other, key="order-1"), 422, "key-reused")
        assert_problem(self.post("/status/201", ORDER, key="order-1"), 422, "key-reused")
        assert views.calls["echo"] == 1

    def test_an_invalid_key_is_400_and_the_view_does_not_run(self) -> None:
        for key in ("", "a" * 256, "with,comma", "tab\tinside"):
            assert_problem(self.post("/echo", ORDER, key=key), 400, "key-invalid")
        assert views.calls["echo"] == 0

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100, IDEMPOTENCY_MAX_REQUEST_BYTES=10_000)
    def test_a_body_over_data_upload_max_memory_size_is_413(self) -> None:
        big = json.dumps({"item": "x" * 200, "amount": 1})

        assert_problem(self.post("/echo", big, key="big-1"), 413, "request-too-large")
        assert views.calls["echo"] == 0
        assert self.post("/echo", ORDER, key="small-1").status_code == 201

    @override_settings(IDEMPOTENCY_MAX_REQUEST_BYTES=100)
    def test_a_body_over_idempotency_max_request_bytes_is_413(self) -> None:
        big = json.dumps({"item": "x" * 200, "amount": 1})

        assert_problem(self.post("/echo", big, key="big-1"), 413, "request-too-large")
        # Without a key nothing is read: the view gets the body.
        assert self.post("/echo", big).status_code == 201
        assert views.calls["echo"] == 1

    def test_keys_belong_to_their_user(self) -> None:
        self.login("alice")
        alice = self.post("/echo", ORDER, key="shared-key")
        self.login("bob")
        bob = self.post("/echo", ORDER, key="shared-key")
        again = self.post("/echo", ORDER, key="shared-key")

        assert views.calls["echo"] == 2
        assert json.loads(body(alice))["user"] != json.loads(body(bob))["user"]
        assert replayed(again)
        assert body(again) == body(bob)

    def test_a_view_that_raised_runs_again(self) -> None:
        self.raise_request_exceptions(False)
        assert self.post("/boom", ORDER, key="boom-1").status_code == 500

        retry = self.post("/boom", ORDER, key="boom-1")

        assert retry.status_code == 201
        assert not replayed(retry)
        assert views.calls["boom"] == 2

    def test_server_errors_and_unstored_statuses_run_again_client_errors_replay(self) -> None:
        for code, runs in ((503, 2), (429, 2), (400, 1), (404, 1)):
            first = self.post(f"/status/{code}", ORDER, key=f"status-{code}")
            second = self.post(f"/status/{code}", ORDER, key=f"status-{code}")
            assert first.status_code == second.status_code == code
            assert views.calls[f"status-{code}"] == runs, code
            assert replayed(second) is (runs == 1)

    def test_a_duplicate_of_a_request_in_progress_is_409_with_retry_after(self) -> None:
        first: dict[str, HttpResponseBase] = {}
        if self.asynchronous:
            first["response"], duplicate = async_to_sync(self._race_async)()
        else:
            duplicate = self._race_sync(first)

        problem = assert_problem(duplicate, 409, "request-in-progress")
        assert problem["retryable"] is True
        assert int(duplicate["Retry-After"]) >= 1
        assert first["response"].status_code == 201
        assert replayed(self.post(self.slow_path, ORDER, key="slow-1"))
        assert views.calls["slow"] == 1

    def _race_sync(self, first: dict[str, HttpResponseBase]) -> HttpResponseBase:
        def send_first() -> None:
            first["response"] = Client().post(
                "/slow",
                ORDER,
                content_type="application/json",
                headers={"Idempotency-Key": "slow-1"},
            )

        thread = threading.Thread(target=send_first)
        thread.start()
        try:
            assert views.gate.entered.wait(timeout=10)
            return self.post("/slow", ORDER, key="slow-1")
        finally:
            views.gate.opened.set()
            thread.join(timeout=10)

    async def _race_async(self) -> tuple[HttpResponseBase, HttpResponseBase]:
        post: Any = self.async_client.post
        headers = {"Idempotency-Key": "slow-1"}
        first = asyncio.ensure_future(
            post(self.slow_path, ORDER, content_type="application/json", headers=headers)
        )
        # The gate is a threading.Event: the view may run in another thread.
        while not views.gate.entered.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        duplicate = await post(
            self.slow_path, ORDER, content_type="application/json", headers=headers
        )
        views.gate.opened.set()
        return await first, duplicate

    def tearDown(self) -> None:
        views.gate.entered.clear()
        views.gate.opened.clear()

    def test_a_streamed_response_completes_when_its_last_chunk_goes_out(self) -> None:
        first = self.post(self.stream_path, ORDER, key="stream-1")
        # The stream is not consumed yet: the request is still in progress.
        assert_problem(
            self.post(self.stream_path, ORDER, key="stream-1"), 409, "request-in-progress"
        )

        assert body(first) == b"first,second"
        second = self.post(self.stream_path, ORDER, key="stream-1")

        assert replayed(second)
        assert body(second) == b"first,second"
        assert views.calls[self.stream_path.strip("/")] == 1

    def test_async_views_are_replayed(self) -> None:
        first = self.post("/async-echo", ORDER, key="async-1")
        second = self.post("/async-echo", ORDER, key="async-1")

        assert body(second) == body(first) == b"async run 1"
        assert replayed(second)

    @override_settings(IDEMPOTENCY_HEADER="X-Request-Id", IDEMPOTENCY_TTL=1)
    def test_override_settings_take_effect(self) -> None:
        self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"})
        assert replayed(self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"}))
        # The Idempotency-Key header is not the key source any more.
        self.post("/echo", ORDER, key="order-1")
        assert not replayed(self.post("/echo", ORDER, key="order-1"))
        time.sleep(1.1)  # IDEMPOTENCY_TTL: the record expired
        assert not replayed(self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"}))
        assert views.calls["echo"] == 4


class AsyncReplayTests(SyncReplayTests):
    asynchronous = True
    slow_path = "/aslow"
    stream_path = "/astream"
