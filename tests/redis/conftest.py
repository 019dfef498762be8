"""Fixtures: the face a test goes through, and a Redis Cluster and a Sentinel-watched
Redis started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis.servers import free_port, redis_cluster, redis_sentinel, redis_server


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``redis+cluster://`` URL of a cluster of three primaries on loopback ports,
    stopped at the end of the session."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


SENTINEL_SERVICE = "idempotency"


@pytest.fixture(scope="session")
def sentinel_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``redis+sentinel://`` URL of a private master, on database 2, named by two
    sentinels (the first one down): all on loopback ports, stopped at the end of the
    session."""
    directory = tmp_path_factory.mktemp("sentinel")
    with (
        redis_server(directory / "master") as master,
        redis_sentinel(directory / "sentinel", master, SENTINEL_SERVICE) as sentinel,
    ):
        # Sentinels are tried in turn: one that does not answer must not matter.
        down = free_port()
        yield f"redis+sentinel://127.0.0.1:{down},127.0.0.1:{sentinel}/{SENTINEL_SERVICE}/2"


@pytest.fixture(params=["sync", "async"])
def face_name(request: pytest.FixtureRequest) -> str:
    """The face of the store under test: ``"sync"`` or ``"async"``."""
    name: str = request.param
    return name
