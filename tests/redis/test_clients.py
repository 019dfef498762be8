"""How a RedisStore reaches Redis: URLs, credentials, TLS, and clients passed in."""

from __future__ import annotations

import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio

from idempotency_middleware.errors import ConfigurationError, StoreError
from idempotency_middleware.stores import from_url
from idempotency_middleware.stores.redis import RedisStore
from tests.redis.servers import REDIS_URL, RedisServer, free_port, redis_server, redis_store
from tests.stores.faces import LEASE, TTL, Face, digest

KEY = digest("key")


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server that admits only the user ``alice``, on TCP and on a Unix socket."""
    directory = tmp_path_factory.mktemp("guarded")
    users = ["--user", "default", "off", "--user", "alice", "on", ">s3cret/pass", "~*", "&*"]
    users.append("+@all")
    with redis_server(directory, *users, "--unixsocket", str(directory / "redis.sock")) as server:
        yield server


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, Path]]:
    """A server reached by TLS only, and the self-signed certificate to trust it by."""
    directory = tmp_path_factory.mktemp("tls")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    request += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    request += ["-keyout", str(key), "-out", str(certificate)]
    subprocess.run(request, check=True, capture_output=True, timeout=60)
    port = free_port()
    options = ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
    options += ["--tls-cert-file", str(certificate), "--tls-key-file", str(key)]
    options += ["--tls-ca-cert-file", str(certificate)]
    with redis_server(directory, *options, port=port) as server:
        yield server, certificate


async def round_trip(store: RedisStore, face_name: str) -> None:
    """Claim, complete and read back a record through one face of ``store``."""
    face = Face(store, face_name)
    try:
        assert (await face.claim(KEY, "owner-a")).claimed
        assert await face.complete(KEY, "owner-a", None, TTL)
        record = await face.get(KEY)
        assert record is not None
        assert record.owner == "owner-a"
    finally:
        await store.aclose()


async def test_url_with_username_and_password(guarded: RedisServer, face_name: str) -> None:
    password = urllib.parse.quote("s3cret/pass", safe="")
    url = f"redis://alice:{password}@127.0.0.1:{guarded.port}/0"
    with redis_store(url, home=url) as store:
        await round_trip(store, face_name)


async def test_wrong_password_is_a_store_error(guarded: RedisServer, face_name: str) -> None:
    url = f"redis://alice:wrong@127.0.0.1:{guarded.port}/0"
    store = RedisStore(url)
    try:
        with pytest.raises(StoreError, match="AuthenticationError"):
            await Face(store, face_name).claim(KEY, "owner-a")
    finally:
        await store.aclose()
        store.close()


async def test_unix_socket_url(guarded: RedisServer, face_name: str) -> None:
    socket = guarded.directory / "redis.sock"
    url = f"unix://alice:s3cret%2Fpass@{socket}?db=0"
    with redis_store(url, home=url) as store:
        await round_trip(store, face_name)


async def test_rediss_url_verifies_the_server_certificate(
    tls: tuple[RedisServer, Path], face_name: str
) -> None:
    server, certificate = tls
    url = f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={certificate}"
    with redis_store(url, home=url) as store:
        await round_trip(store, face_name)

    untrusted = RedisStore(f"rediss://127.0.0.1:{server.port}/0", retries=0)
    try:
        with pytest.raises(StoreError, match="certificate verify failed"):
            await Face(untrusted, face_name).get(KEY)
    finally:
        await untrusted.aclose()
        untrusted.close()


async def test_database_number_of_the_url_is_used(face_name: str) -> None:
    url = REDIS_URL.rsplit("/", 1)[0] + "/3"
    direct = redis.Redis.from_url(url)
    try:
        with redis_store(url, home=url) as store:
            await round_trip(store, face_name)
            assert direct.exists(store.prefix + KEY) == 1
    finally:
        direct.close()


async def test_sync_client_given_serves_the_async_face_too(face_name: str) -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3.0)
    try:
        with redis_store(client) as store:
            await round_trip(store, face_name)
        client.ping()  # the store leaves a client it was given open
    finally:
        client.close()


async def test_async_client_given_serves_the_sync_face_too(face_name: str) -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        with redis_store(client) as store:
            await round_trip(store, face_name)
        await client.ping()
    finally:
        await client.aclose()


async def test_both_clients_given(face_name: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    async_client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        with redis_store(client, async_client=async_client) as store:
            await round_trip(store, face_name)
    finally:
        client.close()
        await async_client.aclose()


async def test_client_whose_settings_cannot_be_copied_needs_its_twin() -> None:
    class Tunnelled(redis.Connection):
        pass

    client = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=Tunnelled))
    store = RedisStore(client)
    try:
        with pytest.raises(ConfigurationError, match="pass async_client"):
            await store.aget(KEY)
    finally:
        await store.aclose()
        client.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:6379", "cannot use the URL"),
        ("redis://127.0.0.1:6379/0?decode_responses=true", "decode_responses=False"),
        ("redis+cluster://127.0.0.1:7000,127.0.0.1:7001/2", "only database 0"),
    ],
)
def test_unusable_url_is_a_configuration_error(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisStore(url)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": ""}, "prefix"),
        ({"socket_timeout": 0}, "socket_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"retries": -1}, "retries"),
    ],
)
def test_unusable_option_is_a_configuration_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        RedisStore(REDIS_URL, **options)  # type: ignore[arg-type]


async def test_unusable_client_is_a_configuration_error() -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        with pytest.raises(ConfigurationError, match="two async clients"):
            RedisStore(client, async_client=client)
        with pytest.raises(ConfigurationError, match="a URL or a redis-py client"):
            RedisStore(object())  # type: ignore[arg-type]
    finally:
        await client.aclose()


def test_client_decoding_replies_is_a_configuration_error() -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        with pytest.raises(ConfigurationError, match="decode_responses=False"):
            RedisStore(client)
    finally:
        client.close()


def test_from_url_builds_redis_stores() -> None:
    for url in (REDIS_URL, "rediss://cache.invalid:6380/0", "redis+cluster://a.invalid,b.invalid"):
        store = from_url(url, prefix="idem-test:from-url:")
        try:
            assert isinstance(store, RedisStore)
        finally:
            store.close()


def test_store_built_from_a_url_connects_only_when_used() -> None:
    started = time.monotonic()
    store = RedisStore("redis+cluster://cluster.invalid:7000", retries=0)
    try:
        assert time.monotonic() - started < 0.5
        with pytest.raises(StoreError):
            store.claim(KEY, "owner-a", "fingerprint", LEASE)
    finally:
        store.close()
