"""The store on a master found through Redis Sentinel (``redis+sentinel://`` URLs).

The whole store contract suite (tests/stores/test_contract.py) is collected again here,
on a store built from the URL of a private master and its sentinel; both faces get
their clients from the sentinels' answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from idempotency_middleware.clock import ManualClock
from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.stores import from_url
from idempotency_middleware.stores.redis import RedisStore
from tests.redis.conftest import SENTINEL_SERVICE
from tests.redis.servers import redis_sentinel, redis_server, redis_store
from tests.stores.faces import Face, digest
from tests.stores.test_contract import *  # noqa: F403 - the contract, through Sentinel


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kind() -> str:
    return "redis"


@pytest.fixture
def sync_store(sentinel_url: str, clock: ManualClock) -> Iterator[RedisStore]:
    with redis_store(sentinel_url, home=sentinel_url, clock=clock) as store:
        yield store


@pytest.fixture(params=["sync", "async"])
async def face(sync_store: RedisStore, request: pytest.FixtureRequest) -> AsyncIterator[Face]:
    yield Face(sync_store, request.param)
    await sync_store.aclose()


def master_client(sentinel_url: str) -> redis.Redis:
    """A plain client of the master, found by asking the sentinel directly."""
    sentinel = sentinel_url.split("/")[2].split(",")[-1]
    host, port = sentinel.split(":")
    with redis.Redis(host=host, port=int(port)) as client:
        address = client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE)
    return redis.Redis(host=address[0].decode(), port=int(address[1]), db=2)


async def test_records_land_on_the_master_database_the_url_names(
    sentinel_url: str, face_name: str
) -> None:
    with redis_store(sentinel_url, home=sentinel_url) as store:
        face = Face(store, face_name)
        try:
            assert (await face.claim(digest("k"), "owner")).claimed
        finally:
            await store.aclose()
        master = master_client(sentinel_url)
        try:
            assert master.exists(store.prefix + digest("k")) == 1
        finally:
            master.close()


def test_from_url_builds_a_redis_store(sentinel_url: str) -> None:
    store = from_url(sentinel_url, prefix="idem-sentinel-test:")
    try:
        assert isinstance(store, RedisStore)
        assert store.get(digest("nothing")) is None
    finally:
        store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://127.0.0.1:26379",
        "redis+sentinel://127.0.0.1:26379/",
        "redis+sentinel://127.0.0.1:26379/mymaster/zero",
    ],
)
def test_a_sentinel_url_without_a_service_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="service"):
        RedisStore(url)


def test_the_credentials_of_the_url_are_the_masters(tmp_path: Path) -> None:
    with (
        redis_server(tmp_path / "master", "--requirepass", "s3cret") as master,
        redis_sentinel(
            tmp_path / "sentinel", master, "locked", "sentinel auth-pass locked s3cret"
        ) as port,
    ):
        url = f"redis+sentinel://:s3cret@127.0.0.1:{port}/locked"
        with redis_store(url, home=url) as store:
            assert store.claim(digest("k"), "owner", "fingerprint", 60).claimed
        wrong = RedisStore(url.replace("s3cret", "wrong"))
        with pytest.raises(StoreError):
            wrong.get(digest("k"))
        wrong.close()
