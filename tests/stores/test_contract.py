"""The store contract (stores/base.py, SEMANTICS section 5), for every store and face."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.fingerprint import digested
from idempotency_middleware.records import Claim, RecordState, StoredResponse
from idempotency_middleware.request import Request
from idempotency_middleware.stores.base import Store
from tests.stores.faces import LEASE, Face, digest, purged

KEY = digest("key")
RESPONSE = StoredResponse(
    status=201,
    headers=(
        (b"content-type", b"application/json"),
        # Every byte a header value can hold: all but CR, LF and NUL (RFC 9110).
        (b"x-binary", bytes(b for b in range(256) if b not in b"\r\n\x00")),
        (b"link", b"</a>; rel=next"),
        (b"x-empty", b""),
        (b"link", b"</b>; rel=prev"),
    ),
    body=b'{"id": 1}\x00\xff',
)


async def test_claim_of_a_new_key_is_granted(face: Face, clock: ManualClock) -> None:
    claim = await face.claim(KEY, "owner-a")

    assert claim.claimed
    assert claim.now == clock.now


async def test_second_claim_gets_the_record_in_progress(face: Face, clock: ManualClock) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a", lease=30.0)
    clock.advance(5)

    claim = await face.claim(KEY, "owner-b", "fingerprint-b")

    assert not claim.claimed
    assert claim.now == clock.now
    assert claim.record is not None
    assert claim.record.state is RecordState.IN_PROGRESS
    assert claim.record.owner == "owner-a"
    assert claim.record.fingerprint == "fingerprint-a"
    assert claim.record.expires_at == clock.now - 5 + 30.0
    assert claim.record.response is None


async def test_claim_resent_by_its_owner_is_granted_again(face: Face) -> None:
    await face.claim(KEY, "owner-a")

    assert (await face.claim(KEY, "owner-a")).claimed
    assert not (await face.claim(KEY, "owner-b")).claimed


async def test_lease_holds_until_it_expires_then_is_taken_over(
    face: Face, clock: ManualClock
) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a")
    clock.advance(LEASE - 1)
    assert not (await face.claim(KEY, "owner-b")).claimed

    clock.advance(2)
    assert (await face.claim(KEY, "owner-b", "fingerprint-b")).claimed

    record = await face.get(KEY)
    assert record is not None
    assert (record.state, record.owner, record.fingerprint) == (
        RecordState.IN_PROGRESS,
        "owner-b",
        "fingerprint-b",
    )
    assert record.expires_at == clock.now + LEASE


async def test_renewal_moves_the_lease_end_of_its_owner_only(
    face: Face, clock: ManualClock
) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a")
    clock.advance(LEASE - 1)

    assert await face.renew(KEY, "owner-a", lease=LEASE)
    assert not await face.renew(KEY, "owner-b", lease=LEASE)
    clock.advance(LEASE - 1)  # past the first lease, within the renewed one
    assert not (await face.claim(KEY, "owner-b")).claimed

    record = await face.get(KEY)
    assert record is not None
    assert (record.owner, record.state) == ("owner-a", RecordState.IN_PROGRESS)
    assert record.expires_at == clock.now + 1


async def test_renewal_never_revives_a_released_or_completed_record(face: Face) -> None:
    await face.claim(KEY, "owner-a")
    await face.release(KEY, "owner-a")
    assert not await face.renew(KEY, "owner-a")
    assert await face.get(KEY) is None

    await face.claim(KEY, "owner-a")
    await face.complete(KEY, "owner-a", RESPONSE)
    assert not await face.renew(KEY, "owner-a")
    record = await face.get(KEY)
    assert record is not None
    assert record.state is RecordState.COMPLETED


async def test_owner_whose_lease_was_taken_over_changes_nothing(
    face: Face, clock: ManualClock
) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a")
    clock.advance(LEASE + 1)
    await face.claim(KEY, "owner-b", "fingerprint-b")
    before = await face.get(KEY)

    assert not await face.complete(KEY, "owner-a", RESPONSE)
    assert not await face.release(KEY, "owner-a")
    assert await face.get(KEY) == before
    assert not (await face.claim(KEY, "owner-a")).claimed


async def test_complete_stores_the_response_exactly(face: Face, clock: ManualClock) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a")
    clock.advance(1)

    assert await face.complete(KEY, "owner-a", RESPONSE, ttl=100.0)

    claim = await face.claim(KEY, "owner-b", "fingerprint-b")
    assert not claim.claimed
    assert claim.record is not None
    assert claim.record.state is RecordState.COMPLETED
    assert claim.record.fingerprint == "fingerprint-a"
    assert claim.record.expires_at == clock.now + 100.0
    assert claim.record.response == RESPONSE
    assert await face.get(KEY) == claim.record


async def test_complete_without_a_response_is_not_replayable(face: Face) -> None:
    await face.claim(KEY, "owner-a")

    assert await face.complete(KEY, "owner-a", None)

    claim = await face.claim(KEY, "owner-b")
    assert not claim.claimed
    assert claim.record is not None
    assert claim.record.state is RecordState.COMPLETED
    assert claim.record.response is None


async def test_complete_of_a_completed_or_unclaimed_key_is_refused(face: Face) -> None:
    assert not await face.complete(KEY, "owner-a", RESPONSE)
    assert await face.get(KEY) is None

    await face.claim(KEY, "owner-a")
    await face.complete(KEY, "owner-a", RESPONSE)
    assert not await face.complete(KEY, "owner-a", None)
    record = await face.get(KEY)
    assert record is not None
    assert record.response == RESPONSE


async def test_completed_record_expires_after_retention(face: Face, clock: ManualClock) -> None:
    await face.claim(KEY, "owner-a")
    await face.complete(KEY, "owner-a", RESPONSE, ttl=100.0)
    clock.advance(99)
    assert not (await face.claim(KEY, "owner-b")).claimed

    clock.advance(2)
    assert await face.get(KEY) is None
    assert (await face.claim(KEY, "owner-b")).claimed


async def test_a_key_answered_before_answers_the_record_that_stands_now(
    face: Face, clock: ManualClock
) -> None:
    await face.claim(KEY, "owner-a", "fingerprint-a")
    await face.complete(KEY, "owner-a", RESPONSE, ttl=100.0)
    first = await face.claim(KEY, "owner-b")
    assert first.record is not None
    assert first.record.response == RESPONSE

    clock.advance(101)
    assert (await face.claim(KEY, "owner-c", "fingerprint-c")).claimed
    second = StoredResponse(200, ((b"content-type", b"text/plain"),), b"second")
    assert await face.complete(KEY, "owner-c", second, ttl=100.0)

    claim = await face.claim(KEY, "owner-d")
    assert claim.record is not None
    assert claim.record.fingerprint == "fingerprint-c"
    assert claim.record.response == second


async def test_release_by_the_owner_frees_the_key(face: Face) -> None:
    await face.claim(KEY, "owner-a")

    assert await face.release(KEY, "owner-a")

    assert await face.get(KEY) is None
    assert (await face.claim(KEY, "owner-b")).claimed


async def test_release_by_another_owner_is_refused(face: Face) -> None:
    await face.claim(KEY, "owner-a")
    before = await face.get(KEY)

    assert not await face.release(KEY, "owner-b")
    assert not await face.release(digest("other"), "owner-a")

    assert await face.get(KEY) == before


async def test_release_of_a_completed_record_is_refused(face: Face) -> None:
    await face.claim(KEY, "owner-a")
    await face.complete(KEY, "owner-a", RESPONSE)

    assert not await face.release(KEY, "owner-a")
    assert (await face.get(KEY)) is not None


async def test_get_reads_live_records_only(face: Face, clock: ManualClock) -> None:
    assert await face.get(KEY) is None
    await face.claim(KEY, "owner-a", "fingerprint-a")

    record = await face.get(KEY)
    assert record is not None
    assert (record.state, record.owner, record.fingerprint) == (
        RecordState.IN_PROGRESS,
        "owner-a",
        "fingerprint-a",
    )

    clock.advance(LEASE + 1)
    assert await face.get(KEY) is None


async def test_purge_deletes_expired_records_and_counts_them(
    face: Face, clock: ManualClock, kind: str
) -> None:
    store = face.store
    assert store.purge() == 0
    await face.claim(digest("lease"), "owner-a", lease=10.0)
    await face.claim(digest("done"), "owner-a")
    await face.complete(digest("done"), "owner-a", RESPONSE, ttl=10.0)
    await face.claim(digest("live"), "owner-a", lease=100.0)
    clock.advance(11)

    assert store.purge() == purged(kind, 2)
    assert store.purge() == 0
    assert await face.get(digest("lease")) is None
    assert await face.get(digest("done")) is None
    assert await face.get(digest("live")) is not None


def test_purge_deletes_more_than_one_batch(
    sync_store: Store, clock: ManualClock, kind: str
) -> None:
    for number in range(1205):
        sync_store.claim(digest(str(number)), "owner-a", "fingerprint", 1.0)
    clock.advance(2)

    assert sync_store.purge() == purged(kind, 1205)
    assert sync_store.get(digest("1204")) is None


async def test_forget_deletes_a_record_whatever_its_state(face: Face) -> None:
    await face.claim(KEY, "owner-a")
    await face.claim(digest("done"), "owner-a")
    await face.complete(digest("done"), "owner-a", RESPONSE)

    assert face.store.forget(KEY)
    assert face.store.forget(digest("done"))
    assert not face.store.forget(KEY)
    assert (await face.claim(KEY, "owner-b")).claimed


async def test_clear_deletes_every_record(face: Face) -> None:
    for name in ("a", "b", "c"):
        await face.claim(digest(name), "owner-a")

    face.store.clear()

    for name in ("a", "b", "c"):
        assert await face.get(digest(name)) is None


def test_a_store_is_true_even_when_empty(sync_store: Store) -> None:
    # So that `store or default` never swaps a given empty store for another.
    assert sync_store
    assert (sync_store or None) is sync_store


async def test_keys_are_independent(face: Face) -> None:
    await face.claim(digest("a"), "owner-a")

    assert (await face.claim(digest("b"), "owner-b")).claimed
    assert await face.complete(digest("b"), "owner-b", RESPONSE)
    record = await face.get(digest("a"))
    assert record is not None
    assert record.state is RecordState.IN_PROGRESS


def _long_fingerprint(request: Request) -> str:
    return "f" * 100 + request.path + "f" * 99


async def test_the_fingerprint_of_any_function_round_trips(face: Face) -> None:
    # The core hands every store a digest of what a fingerprint function returns, so a
    # column of 64 characters takes a function's 200 characters (SEMANTICS 4).
    fingerprint = digested(_long_fingerprint)
    one, two = fingerprint(Request("POST", "/a")), fingerprint(Request("POST", "/b"))
    assert one != two

    await face.claim(KEY, "owner-a", one)

    claim = await face.claim(KEY, "owner-b", two)
    assert claim.record is not None
    assert claim.record.fingerprint == one


async def test_body_of_several_mebibytes_round_trips(face: Face) -> None:
    body = bytes(range(256)) * (8 * 1024) + b"tail"  # 2 MiB and a bit, every byte value
    response = StoredResponse(200, ((b"content-type", b"application/octet-stream"),), body)
    await face.claim(KEY, "owner-a")

    assert await face.complete(KEY, "owner-a", response)

    claim = await face.claim(KEY, "owner-b")
    assert claim.record is not None
    assert claim.record.response == response


def test_one_of_sixteen_threads_claims_a_key(sync_store: Store) -> None:
    start = threading.Barrier(16)

    def claim_at_once(number: int) -> Claim:
        start.wait(timeout=30)
        return sync_store.claim(KEY, f"owner-{number}", "fingerprint", LEASE)

    with ThreadPoolExecutor(16) as pool:
        claims = list(pool.map(claim_at_once, range(16)))

    winners = [number for number, claim in enumerate(claims) if claim.claimed]
    assert len(winners) == 1
    for claim in claims:
        assert claim.record is not None
        assert claim.record.owner == f"owner-{winners[0]}"


async def test_one_of_sixteen_tasks_claims_a_key(sync_store: Store) -> None:
    try:
        claims = await asyncio.gather(
            *(sync_store.aclaim(KEY, f"owner-{n}", "fingerprint", LEASE) for n in range(16))
        )
    finally:
        await sync_store.aclose()

    winners = [number for number, claim in enumerate(claims) if claim.claimed]
    assert len(winners) == 1
    for claim in claims:
        assert claim.record is not None
        assert claim.record.owner == f"owner-{winners[0]}"


def test_async_face_serves_several_event_loops_at_once(sync_store: Store) -> None:
    # Pooled async connections belong to the loop that opened them: a store shared by
    # two servers, each with its own loop in its own thread, must keep them apart.
    start = threading.Barrier(2)

    def serve(name: str) -> list[bool]:
        async def claims() -> list[bool]:
            try:
                outcomes = []
                for number in range(20):
                    claim = await sync_store.aclaim(digest(f"{name}-{number}"), name, "f", LEASE)
                    outcomes.append(claim.claimed)
                return outcomes
            finally:
                await sync_store.aclose()

        start.wait(timeout=30)
        return asyncio.run(claims())

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(serve, ["loop-a", "loop-b"]))

    assert results == [[True] * 20] * 2
