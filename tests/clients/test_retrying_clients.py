"""Real clients with their own retry logic, against a real server with several workers:
a POST whose first attempt fails after the server got it (the connection dropped, a
proxy's 503, a client time-out) is retried by the client, the handler runs once, and
the client gets the original result.

The clients are set up as integrations/snippets/clients_*.py show the reader.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import stripe

from integrations.snippets.clients_httpx import httpx_client
from integrations.snippets.clients_requests import requests_session
from integrations.snippets.clients_stripe import stripe_client
from tests.faults.server_app import RunsConfig, environment, runs
from tests.redis.lossy import LossyProxy
from tests.support.databases import sqlite_url
from tests.support.servers import running_server

pytestmark = pytest.mark.server

API_KEY = "sk_test_local"
DELAY = 1.5
"""How long the handler takes when a client is to time out first."""
QUICK_TIMEOUT = 0.5
PATIENT_TIMEOUT = 10.0
PROXY_503 = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

FAULTS = ("connection-dropped", "proxy-503", "time-out")


@dataclass(frozen=True)
class Service:
    """The server, the proxy in front of it, and the file of the handler's runs."""

    base_url: str
    proxy: LossyProxy
    runs_path: Path

    def url_for(self, fault: str) -> str:
        """Where a client sends its request to meet ``fault`` on its first attempt."""
        if fault == "time-out":
            return self.base_url
        self.proxy.lose_next_reply(PROXY_503 if fault == "proxy-503" else None)
        return f"http://{self.proxy.host}:{self.proxy.port}"

    def runs_of(self, key: str) -> int:
        return sum(1 for run, _ in runs(self.runs_path) if run == key)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    directory = tmp_path_factory.mktemp("clients")
    config: RunsConfig = {
        "store_url": sqlite_url(directory),
        "store_options": {},
        "runs_path": str(directory / "runs"),
        "delay": 0.0,
        "options": {"routes": {"/v1/customers": {"error_format": "stripe"}}},
    }
    with running_server(
        "tests.faults.server_app:counted_app",
        log_path=directory / "server.log",
        env=environment(config),
        workers=2,
    ) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with LossyProxy(host, int(port)) as proxy:
            yield Service(server.base_url, proxy, directory / "runs")


def _timing(fault: str) -> tuple[float, dict[str, str]]:
    """The client's time-out and the headers that slow the handler down for ``fault``."""
    if fault == "time-out":
        return QUICK_TIMEOUT, {"X-Delay": str(DELAY)}
    return PATIENT_TIMEOUT, {}


@pytest.mark.parametrize("fault", FAULTS)
def test_stripe_python_retries_and_the_customer_is_created_once(
    service: Service, fault: str
) -> None:
    timeout, headers = _timing(fault)
    client = stripe_client(service.url_for(fault), API_KEY, timeout=timeout)
    customer = client.v1.customers.create(
        {"email": "jenny@example.com"}, options={"headers": headers}
    )
    assert customer.metadata is not None
    key = customer.metadata["idempotency_key"]
    assert customer.object == "customer"
    assert customer.email == "jenny@example.com"
    assert customer.last_response is not None
    assert customer.last_response.headers["idempotent-replayed"] == "true"
    assert service.runs_of(key) == 1


def test_stripe_python_raises_its_idempotency_error_for_a_key_reused_with_other_params(
    service: Service,
) -> None:
    client = stripe_client(service.base_url, API_KEY)
    key = str(uuid.uuid4())
    client.v1.customers.create({"email": "jenny@example.com"}, {"idempotency_key": key})
    with pytest.raises(stripe.IdempotencyError) as raised:
        client.v1.customers.create({"email": "other@example.com"}, {"idempotency_key": key})
    assert raised.value.http_status == 400
    assert isinstance(raised.value.json_body, dict)
    assert raised.value.json_body["error"]["code"] == "key_reused"
    assert service.runs_of(key) == 1


def _post_with_requests(url: str, key: str, timeout: float, headers: dict[str, str]) -> Any:
    with requests_session() as session:
        response = session.post(
            f"{url}/orders",
            json={"item": "book"},
            headers={"Idempotency-Key": key, **headers},
            timeout=timeout,
        )
        return response.status_code, response.headers, response.json()


def _post_with_httpx(url: str, key: str, timeout: float, headers: dict[str, str]) -> Any:
    with httpx_client(url, timeout=timeout) as client:
        response = client.post(
            "/orders", json={"item": "book"}, headers={"Idempotency-Key": key, **headers}
        )
        return response.status_code, response.headers, response.json()


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(
    "post", [_post_with_requests, _post_with_httpx], ids=["requests-urllib3", "httpx-retries"]
)
def test_a_retrying_client_gets_the_original_order(
    service: Service, fault: str, post: Callable[[str, str, float, dict[str, str]], Any]
) -> None:
    key = str(uuid.uuid4())
    timeout, headers = _timing(fault)
    status, answer_headers, order = post(service.url_for(fault), key, timeout, headers)
    assert status == 201
    assert answer_headers["idempotent-replayed"] == "true"
    assert order["key"] == key
    assert json.loads(order["body"]) == {"item": "book"}
    assert [pid for run, pid in runs(service.runs_path) if run == key] == [order["pid"]]
