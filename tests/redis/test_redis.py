"""What only the Redis store promises: round trips, faults, the server's clock, decoding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from idempotency_middleware.errors import RecordDecodeError, StoreError
from idempotency_middleware.records import RecordState, StoredResponse
from idempotency_middleware.stores.codec import FORMAT_VERSION
from tests.redis.lossy import LossyProxy
from tests.redis.servers import REDIS_URL, redis_server, redis_store
from tests.stores.faces import LEASE, TTL, Face, digest, fresh_and_replay
from tests.support.databases import address
from tests.support.proxy import Proxy

KEY = digest("key")
RESPONSE = StoredResponse(201, ((b"content-type", b"text/plain"),), b"created")


@pytest.fixture
def direct() -> Iterator[redis.Redis]:
    """A plain client of the shared server, to look at keys the way Redis holds them."""
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


async def test_fresh_request_costs_two_round_trips_and_replay_one(face_name: str) -> None:
    with Proxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        face = Face(store, face_name)
        try:
            proxy.reset()
            await face.claim(digest("cold"), "owner-a")
            cold_claim = proxy.round_trips
            await face.complete(digest("cold"), "owner-a", RESPONSE)
            fresh, replay, replayed = await fresh_and_replay(face, proxy, KEY, RESPONSE)
        finally:
            await store.aclose()

    assert replay.record is not None
    assert replay.record.response == RESPONSE
    assert (fresh, replayed) == (2, 1)
    # Connecting (HELLO, CLIENT SETINFO) and the first EVALSHA of a script the server has
    # not cached (NOSCRIPT, then EVAL) cost more, once.
    assert cold_claim > 1


async def test_claim_whose_reply_was_lost_is_answered_claimed(face_name: str) -> None:
    with LossyProxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        face = Face(store, face_name)
        try:
            await face.get(KEY)  # connected, so the next reply is the claim's
            proxy.lose_next_reply()

            claim = await face.claim(KEY, "owner-a", "fingerprint-a")

            assert proxy.lost_replies == 1
            assert claim.claimed
            assert not (await face.claim(KEY, "owner-b")).claimed
            record = await face.get(KEY)
            assert record is not None
            assert (record.state, record.owner) == (RecordState.IN_PROGRESS, "owner-a")
        finally:
            await store.aclose()


async def test_completion_whose_reply_was_lost_is_answered_true(face_name: str) -> None:
    with LossyProxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        face = Face(store, face_name)
        try:
            await face.claim(KEY, "owner-a")
            proxy.lose_next_reply()

            assert await face.complete(KEY, "owner-a", RESPONSE)

            assert proxy.lost_replies == 1
            # A completion with another response is no re-send: refused as ever.
            assert not await face.complete(KEY, "owner-a", None)
            record = await face.get(KEY)
            assert record is not None
            assert record.response == RESPONSE
        finally:
            await store.aclose()


async def test_connection_the_server_dropped_is_replaced_unnoticed(face_name: str) -> None:
    with Proxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        face = Face(store, face_name)
        try:
            await face.claim(KEY, "owner-a")
            proxy.drop()

            assert (await face.claim(KEY, "owner-a")).claimed
            assert await face.complete(KEY, "owner-a", RESPONSE)
        finally:
            await store.aclose()


async def test_command_cancelled_before_its_reply_leaves_no_reply_for_the_next(
    direct: redis.Redis,
) -> None:
    with Proxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        try:
            await store.aget(KEY)  # one connection, idle
            proxy.stall()
            cancelled = asyncio.create_task(store.aclaim(KEY, "owner-a", "fingerprint", LEASE))
            for _ in range(5):  # the claim is sent and waits for its reply
                await asyncio.sleep(0)
            cancelled.cancel()
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            proxy.heal()  # the claim reaches Redis, which answers it

            claim = await store.aclaim(KEY, "owner-b", "fingerprint", LEASE)
            record = await store.aget(KEY)
            owner = direct.hget(store.prefix + KEY, "o")
        finally:
            await store.aclose()

    assert claim.claimed == (owner == b"owner-b")
    assert record is not None
    assert record.owner.encode() == owner


async def test_unreachable_server_raises_store_error_promptly(face_name: str) -> None:
    with Proxy(*address(REDIS_URL)) as proxy, redis_store(proxy.url(REDIS_URL)) as store:
        face = Face(store, face_name)
        try:
            await face.get(KEY)
            proxy.drop()
            proxy.refuse()
            started = time.monotonic()

            with pytest.raises(StoreError, match="ConnectionError"):
                await face.claim(KEY, "owner-a")

            assert time.monotonic() - started < 2
        finally:
            proxy.heal()
            await store.aclose()


async def test_server_that_stops_answering_raises_store_error_in_bounded_time(
    face_name: str,
) -> None:
    with (
        Proxy(*address(REDIS_URL)) as proxy,
        redis_store(proxy.url(REDIS_URL), socket_timeout=0.5, connect_timeout=0.5) as store,
    ):
        face = Face(store, face_name)
        try:
            await face.get(KEY)
            proxy.stall()
            started = time.monotonic()

            with pytest.raises(StoreError, match="Timeout"):
                await face.claim(KEY, "owner-a")

            # One try and one retry of half a second each, and a backoff below one.
            assert time.monotonic() - started < 2.5
        finally:
            proxy.heal()
            await store.aclose()


async def test_store_starts_while_redis_is_down(face_name: str) -> None:
    with Proxy(*address(REDIS_URL)) as proxy:
        proxy.refuse()
        for url in (proxy.url(REDIS_URL), f"redis+cluster://127.0.0.1:{proxy.port}"):
            with redis_store(url) as store:
                face = Face(store, face_name)
                try:
                    with pytest.raises(StoreError):
                        await face.claim(KEY, "owner-a")
                finally:
                    await store.aclose()


async def test_script_the_server_forgot_is_sent_again(face_name: str, tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        url = f"redis://127.0.0.1:{server.port}/0"
        with (
            Proxy("127.0.0.1", server.port) as proxy,
            redis_store(proxy.url(url), home=url) as store,
        ):
            face = Face(store, face_name)
            admin = server.client()
            try:
                await face.claim(KEY, "owner-a")
                admin.script_flush()
                proxy.reset()

                assert (await face.claim(KEY, "owner-a")).claimed
                assert proxy.round_trips == 2  # NOSCRIPT, then EVAL, which caches it again
                proxy.reset()
                assert (await face.claim(KEY, "owner-a")).claimed
                assert proxy.round_trips == 1
            finally:
                admin.close()
                await store.aclose()


async def test_leases_and_retention_run_on_the_server_clock(
    face_name: str, direct: redis.Redis
) -> None:
    with redis_store() as store:
        face = Face(store, face_name)
        prefix = store.prefix
        try:
            claim = await face.claim(KEY, "owner-a", lease=LEASE)
            seconds, microseconds = direct.time()
            contested = await face.claim(KEY, "owner-b")
            await face.complete(KEY, "owner-a", RESPONSE, ttl=TTL)
            completed = await face.get(KEY)
        finally:
            await store.aclose()

        assert claim.record is not None
        assert abs(claim.now - (seconds + microseconds / 1e6)) < 1
        assert claim.record.expires_at == pytest.approx(claim.now + LEASE, abs=0.001)
        assert contested.record is not None
        # What the middleware turns into Retry-After: the lease left, on one clock.
        assert 0 < contested.record.expires_at - contested.now <= LEASE
        assert completed is not None
        assert completed.expires_at == pytest.approx(contested.now + TTL, abs=1)
        ttl_ms = direct.pttl(prefix + KEY)
        assert TTL * 1000 - 1000 < ttl_ms <= TTL * 1000


async def test_redis_drops_records_when_their_lease_or_retention_ends(
    face_name: str, direct: redis.Redis
) -> None:
    with redis_store() as store:
        face = Face(store, face_name)
        try:
            await face.claim(KEY, "owner-a", lease=0.2)
            await face.claim(digest("done"), "owner-a")
            await face.complete(digest("done"), "owner-a", RESPONSE, ttl=0.2)
            await face.claim(digest("renewed"), "owner-a", lease=0.2)
            assert await face.renew(digest("renewed"), "owner-a", lease=LEASE)
            assert not (await face.claim(KEY, "owner-b")).claimed
            await asyncio.sleep(0.3)

            assert (await face.claim(KEY, "owner-b")).claimed
            assert await face.get(digest("done")) is None
            assert direct.exists(store.prefix + digest("done")) == 0
            assert not (await face.claim(digest("renewed"), "owner-b")).claimed
            assert store.purge() == 0
        finally:
            await store.aclose()


def test_record_is_one_hash_under_the_prefix(direct: redis.Redis) -> None:
    with redis_store() as store:
        store.claim(KEY, "owner-a", "fingerprint-a", LEASE)
        store.complete(KEY, "owner-a", RESPONSE, TTL)

        fields = direct.hgetall(store.prefix + KEY)

    assert set(fields) == {b"v", b"s", b"o", b"f", b"e", b"st", b"h", b"b"}
    assert fields[b"v"] == str(FORMAT_VERSION).encode()
    assert fields[b"s"] == b"completed"
    assert (fields[b"o"], fields[b"f"]) == (b"owner-a", b"fingerprint-a")
    assert (fields[b"st"], fields[b"b"]) == (b"201", b"created")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("v", b"99", "format version 99"),
        ("v", None, "format version none"),
        ("s", b"lost", "'lost' is not a valid RecordState"),
        ("e", b"soon", "invalid literal"),
        ("o", None, "a field holds None"),
        ("h", b"not json", "headers cannot be decoded"),
        ("st", b"created", "is not a number"),
        ("b", None, "lacks its response"),
    ],
)
def test_undecodable_record_raises_record_decode_error(
    direct: redis.Redis, field: str, value: bytes | None, message: str
) -> None:
    with redis_store() as store:
        store.claim(KEY, "owner-a", "fingerprint", LEASE)
        store.complete(KEY, "owner-a", RESPONSE, TTL)
        if value is None:
            direct.hdel(store.prefix + KEY, field)
        else:
            direct.hset(store.prefix + KEY, field, value)

        with pytest.raises(RecordDecodeError, match=message):
            store.get(KEY)
        with pytest.raises(RecordDecodeError, match=message):
            store.claim(KEY, "owner-b", "fingerprint", LEASE)
        # Nothing writes over a record it cannot read.
        assert not store.complete(KEY, "owner-b", RESPONSE, TTL)
        assert not store.renew(KEY, "owner-a", LEASE)
        assert not store.release(KEY, "owner-a")
        assert store.forget(KEY)
        assert store.claim(KEY, "owner-b", "fingerprint", LEASE).claimed


def test_key_of_another_type_raises_record_decode_error(direct: redis.Redis) -> None:
    with redis_store() as store:
        direct.set(store.prefix + KEY, b"not a record", px=60_000)

        with pytest.raises(RecordDecodeError, match="holds a Redis string"):
            store.claim(KEY, "owner-a", "fingerprint", LEASE)
        with pytest.raises(RecordDecodeError, match="holds a Redis string"):
            store.get(KEY)
        assert not store.release(KEY, "owner-a")
        assert direct.get(store.prefix + KEY) == b"not a record"


def test_clear_deletes_the_keys_under_its_prefix_only(direct: redis.Redis) -> None:
    with (
        redis_store(prefix="idem-test:a*[b]:" + KEY[:8] + ":") as globbed,
        redis_store(prefix="idem-test:aXb:" + KEY[:8] + ":") as matched_by_the_glob,
    ):
        for number in range(2500):  # more than one SCAN page and one UNLINK batch
            globbed.claim(digest(str(number)), "owner-a", "fingerprint", LEASE)
        matched_by_the_glob.claim(KEY, "owner-a", "fingerprint", LEASE)

        globbed.clear()

        assert globbed.get(digest("0")) is None
        assert not list(direct.scan_iter(match=b"idem-test:a\\*\\[b\\]:*", count=1000))
        assert matched_by_the_glob.get(KEY) is not None
