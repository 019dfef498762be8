"""The framework-neutral helpers on a client and answers of our own: which key each
request carries, and what ``assert_one_run`` says about a set of answers."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from idempotency_middleware.testing import (
    IdempotentClient,
    assert_one_run,
    assert_runs_once,
    assert_runs_once_async,
)
from tests.support.servers import ROOT


@dataclass
class Answer:
    """A response as every test client's has them: a status, headers and bytes."""

    status_code: int
    content: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


ORIGINAL = Answer(201, b'{"order": 1}')
REPLAY = Answer(201, b'{"order": 1}', {"Idempotent-Replayed": "true"})
CONFLICT = Answer(409, b"{}")


@dataclass
class Recorder:
    """A test client that answers every call with what it was called with."""

    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    cookies: str = "jar"

    def __getattr__(self, method: str) -> Callable[..., Answer]:
        def call(*args: Any, **kwargs: Any) -> Answer:
            self.calls.append((method, args, kwargs))
            return Answer(200)

        return call


def test_each_unsafe_request_gets_a_fresh_key_and_a_resend_repeats_the_last() -> None:
    recorder = Recorder()
    client = IdempotentClient(recorder)
    client.post("/orders", json={"item": "book"})
    client.patch("/orders/1", headers={"Accept": "application/json"})
    client.resend()
    client.get("/orders")
    (post, patch, resent, get) = recorder.calls
    assert post[2]["headers"]["Idempotency-Key"] != patch[2]["headers"]["Idempotency-Key"]
    assert patch[2]["headers"] == {"Accept": "application/json", "Idempotency-Key": client.last_key}
    assert resent == patch
    assert get == ("get", ("/orders",), {})
    assert client.cookies == "jar"


@pytest.mark.parametrize(
    "given",
    [
        {"headers": {"idempotency-KEY": "mine"}},
        {"headers": [("Idempotency-Key", "mine"), ("Accept", "*/*")]},
        {"HTTP_IDEMPOTENCY_KEY": "mine"},
    ],
    ids=["mapping", "pairs", "django-extra"],
)
def test_a_key_given_is_sent_as_it_is(given: dict[str, Any]) -> None:
    recorder = Recorder()
    client = IdempotentClient(recorder)
    client.put("/orders/1", **given)
    assert recorder.calls == [("put", ("/orders/1",), given)]
    assert client.last_key == "mine"


def test_the_header_and_the_keys_are_the_callers_choice() -> None:
    recorder = Recorder()
    client = IdempotentClient(recorder, header="X-Request-Id", new_key=lambda: "fixed")
    client.delete("/orders/1", headers=[("Accept", "*/*")])
    assert recorder.calls[0][2] == {"headers": [("Accept", "*/*"), ("X-Request-Id", "fixed")]}


def test_resending_before_sending_says_what_to_do() -> None:
    with pytest.raises(LookupError, match=r"send a request with post\(\)"):
        IdempotentClient(Recorder()).resend()


@pytest.mark.parametrize(
    "answers",
    [[ORIGINAL, REPLAY, REPLAY], [CONFLICT, ORIGINAL, CONFLICT, REPLAY], [ORIGINAL]],
    ids=["replays", "conflicts", "alone"],
)
def test_one_original_among_replays_and_conflicts_is_one_run(answers: list[Answer]) -> None:
    assert assert_one_run(answers) is ORIGINAL


@pytest.mark.parametrize(
    ("answers", "runs", "message"),
    [
        (
            [ORIGINAL, ORIGINAL, REPLAY],
            None,
            "2 of 3 identical requests with one key ran the handler (answered neither "
            "with Idempotent-Replayed: true nor 409); expected exactly one",
        ),
        ([REPLAY, CONFLICT], None, "none of 2 identical requests with one key ran"),
        ([ORIGINAL, REPLAY], 2, "the handler ran 2 times for 2 identical requests"),
        ([ORIGINAL, Answer(201, b"{}", REPLAY.headers)], None, "a replay differs"),
        ([ORIGINAL, Answer(200, ORIGINAL.content, REPLAY.headers)], None, "a replay differs"),
    ],
    ids=["two-originals", "no-original", "counted-twice", "other-body", "other-status"],
)
def test_anything_but_one_run_fails_with_what_was_seen(
    answers: list[Answer], runs: int | None, message: str
) -> None:
    with pytest.raises(AssertionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        assert_one_run(answers, runs=runs)


def test_the_duplicates_are_sent_together_from_threads_of_their_own() -> None:
    arrived = threading.Barrier(4)
    keys: list[str] = []

    def send(key: str) -> Answer:
        # Each call waits for the other three: sent one after another, none would return.
        arrived.wait(timeout=10)
        keys.append(key)
        return ORIGINAL if len(keys) == 1 else REPLAY

    assert assert_runs_once(send, times=4, key="k") is ORIGINAL
    assert keys == ["k"] * 4


async def test_the_async_duplicates_are_sent_together() -> None:
    keys: list[str] = []
    counted = [0]

    async def send(key: str) -> Answer:
        keys.append(key)
        counted[0] += len(keys) == 1
        return ORIGINAL if len(keys) == 1 else CONFLICT

    assert await assert_runs_once_async(send, times=3, runs=lambda: counted[0]) is ORIGINAL
    assert len(set(keys)) == 1


def test_fewer_than_two_duplicates_is_refused() -> None:
    with pytest.raises(ValueError, match="times=1"):
        assert_runs_once(lambda key: ORIGINAL, times=1)


def test_the_plugin_imports_no_framework() -> None:
    # As for a user with only Flask, or only Django: no framework may be imported to load it.
    frameworks = ("django", "flask", "werkzeug", "starlette", "fastapi", "httpx")
    code = (
        "import sys\n"
        "import idempotency_middleware.pytest_plugin, idempotency_middleware.testing\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {frameworks!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n", result.stderr
