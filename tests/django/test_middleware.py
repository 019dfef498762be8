"""What only the Django middleware shows, through the sync and the async test client:
middleware inside this one, Django's body limit, ``request.user``, streamed responses
and ``override_settings``. The rules every adapter shares are in tests/behaviour."""

from __future__ import annotations

import json
import time

from asgiref.sync import async_to_sync
from django.http import HttpResponseBase, StreamingHttpResponse
from django.test import override_settings

from tests.django import views
from tests.django.clients import ClientTestCase, assert_problem
from tests.support.replays import is_replay

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
        assert is_replay(second)
        assert not is_replay(first)
        assert first.cookies["session-ish"].value == "secret-1"
        assert not second.cookies

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100, IDEMPOTENCY_MAX_REQUEST_BYTES=10_000)
    def test_a_body_over_data_upload_max_memory_size_is_413(self) -> None:
        big = json.dumps({"item": "x" * 200, "amount": 1})

        assert_problem(self.post("/echo", big, key="big-1"), 413, "request-too-large")
        assert views.calls["echo"] == 0
        assert self.post("/echo", ORDER, key="small-1").status_code == 201

    def test_keys_belong_to_their_user(self) -> None:
        self.login("alice")
        alice = self.post("/echo", ORDER, key="shared-key")
        self.login("bob")
        bob = self.post("/echo", ORDER, key="shared-key")
        again = self.post("/echo", ORDER, key="shared-key")

        assert views.calls["echo"] == 2
        assert json.loads(body(alice))["user"] != json.loads(body(bob))["user"]
        assert is_replay(again)
        assert body(again) == body(bob)

    def test_a_streamed_response_completes_when_its_last_chunk_goes_out(self) -> None:
        first = self.post(self.stream_path, ORDER, key="stream-1")
        # The stream is not consumed yet: the request is still in progress.
        assert_problem(
            self.post(self.stream_path, ORDER, key="stream-1"), 409, "request-in-progress"
        )

        assert body(first) == b"first,second"
        second = self.post(self.stream_path, ORDER, key="stream-1")

        assert is_replay(second)
        assert body(second) == b"first,second"
        assert views.calls[self.stream_path.strip("/")] == 1

    @override_settings(IDEMPOTENCY_HEADER="X-Request-Id", IDEMPOTENCY_TTL=1)
    def test_override_settings_take_effect(self) -> None:
        self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"})
        assert is_replay(self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"}))
        # The Idempotency-Key header is not the key source any more.
        self.post("/echo", ORDER, key="order-1")
        assert not is_replay(self.post("/echo", ORDER, key="order-1"))
        time.sleep(1.1)  # IDEMPOTENCY_TTL: the record expired
        assert not is_replay(self.post("/echo", ORDER, headers={"X-Request-Id": "request-1"}))
        assert views.calls["echo"] == 4

    def test_a_problem_is_logged_once_by_us_not_as_a_django_request_warning(self) -> None:
        self.post("/echo", ORDER, key="order-1")
        with (
            self.assertNoLogs("django.request", "WARNING"),
            self.assertLogs("idempotency_middleware", "DEBUG") as ours,
        ):
            assert_problem(self.post("/echo", "{}", key="order-1"), 422, "key-reused")
            assert_problem(self.post("/echo", ORDER, key="a,b"), 400, "key-invalid")
        outcomes = [getattr(record, "idempotency_outcome", None) for record in ours.records]
        assert outcomes == ["mismatch", "key-invalid"]
        # The view's own 4xx answers are Django's to log, as before.
        with self.assertLogs("django.request", "WARNING"):
            self.post("/no-such-page", ORDER, key="order-2")


class AsyncReplayTests(SyncReplayTests):
    asynchronous = True
    stream_path = "/astream"
