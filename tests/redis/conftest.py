"""Fixtures: the face a test goes through, and a Redis Cluster started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis.servers import redis_cluster


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The ``redis+cluster://`` URL of a cluster of three primaries on loopback ports,
    stopped at the end of the session."""
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.fixture(params=["sync", "async"])
def face_name(request: pytest.FixtureRequest) -> str:
    """The face of the store under test: ``"sync"`` or ``"async"``."""
    name: str = request.param
    return name
