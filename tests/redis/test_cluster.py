"""The store on a Redis Cluster of three primaries.

The whole store contract suite (tests/stores/test_contract.py) is collected again here,
with the fixtures below: a store on the cluster, given a sync ``RedisCluster`` client,
whose async face builds ``redis.asyncio`` cluster clients of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.stores.redis import RedisStore
from tests.redis.servers import redis_store
from tests.stores.faces import LEASE, TTL, Face, digest
from tests.stores.test_contract import *  # noqa: F403 - the contract, run on the cluster


def first_node(cluster_url: str) -> dict[str, Any]:
    """The address of one node, which redis-py clients discover the others from."""
    host, port = cluster_url.removeprefix("redis+cluster://").split(",")[0].split(":")
    # Not from_url: the nodes of a sync RedisCluster made from a URL leak their
    # connections when it is closed (redis-py 8.1).
    return {"host": host, "port": int(port)}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kind() -> str:
    return "redis-cluster"


@pytest.fixture
def sync_store(cluster_url: str, clock: ManualClock) -> Iterator[RedisStore]:
    client = RedisCluster(**first_node(cluster_url))
    try:
        with redis_store(client, home=cluster_url, clock=clock) as store:
            yield store
    finally:
        client.close()


@pytest.fixture(params=["sync", "async"])
async def face(sync_store: RedisStore, request: pytest.FixtureRequest) -> AsyncIterator[Face]:
    yield Face(sync_store, request.param)
    await sync_store.aclose()


async def test_records_spread_over_every_node(cluster_url: str, face_name: str) -> None:
    with redis_store(cluster_url, home=cluster_url) as store:
        face = Face(store, face_name)
        try:
            for number in range(30):
                assert (await face.claim(digest(str(number)), "owner-a")).claimed
                assert await face.complete(digest(str(number)), "owner-a", None, TTL)
            for number in range(30):
                assert not (await face.claim(digest(str(number)), "owner-b")).claimed
        finally:
            await store.aclose()

        holders = []
        for address in cluster_url.removeprefix("redis+cluster://").split(","):
            node = redis.Redis.from_url(f"redis://{address}")
            try:
                holders.append(len(list(node.scan_iter(match=store.prefix + "*"))))
            finally:
                node.close()

    assert sum(holders) == 30
    assert all(holders)


async def test_async_cluster_client_given_serves_the_sync_face_too(
    cluster_url: str, face_name: str
) -> None:
    client = AsyncRedisCluster(**first_node(cluster_url))
    try:
        with redis_store(client, home=cluster_url) as store:
            face = Face(store, face_name)
            try:
                assert (await face.claim(digest("a"), "owner-a", lease=LEASE)).claimed
                assert not (await face.claim(digest("a"), "owner-b")).claimed
                assert await face.release(digest("a"), "owner-a")
                assert store.forget(digest("a")) is False
            finally:
                await store.aclose()
    finally:
        await client.aclose()
