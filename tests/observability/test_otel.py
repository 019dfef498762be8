"""OpenTelemetry, checked with the SDK's in-memory exporter and reader: a span on each
claim and each replay, a counter per outcome, and nothing imported until enabled."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from idempotency_middleware import ConfigurationError, MemoryStore, Options
from idempotency_middleware.otel import Telemetry
from tests.observability.conftest import RAW_KEY, SCENARIOS, MakeClient
from tests.observability.test_logging import run


@dataclass
class Sdk:
    """An SDK tracer and meter provider that keep what they receive in memory."""

    spans: InMemorySpanExporter
    reader: InMemoryMetricReader
    telemetry: Telemetry

    def finished(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name == name]

    def outcome_counts(self) -> Counter[tuple[str, str]]:
        """``idempotency.outcomes`` by (outcome, route)."""
        counts: Counter[tuple[str, str]] = Counter()
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != "idempotency.outcomes":
                        continue
                    for point in metric.data.data_points:
                        assert isinstance(point, NumberDataPoint)
                        attributes = point.attributes or {}
                        outcome = str(attributes["idempotency.outcome"])
                        counts[outcome, str(attributes["http.route"])] += int(point.value)
        return counts


@pytest.fixture
def sdk() -> Sdk:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = Telemetry(tracer_provider=tracer_provider, meter_provider=meter_provider)
    return Sdk(spans, reader, telemetry)


async def test_counts_every_outcome_by_route(
    adapter: str, make_client: MakeClient, sdk: Sdk
) -> None:
    client = make_client(adapter, telemetry=sdk.telemetry, max_request_bytes=1000)
    for scenario in SCENARIOS:
        await run(client, scenario)
    await client.post(key=RAW_KEY + "-again")
    expected = Counter((s.outcome, client.route) for s in SCENARIOS)
    expected["executed", client.route] += 1
    assert sdk.outcome_counts() == expected


async def test_a_span_on_each_claim_and_on_the_replay(
    adapter: str, make_client: MakeClient, sdk: Sdk
) -> None:
    client = make_client(adapter, telemetry=sdk.telemetry)
    assert await client.post() == 201
    assert await client.post() == 201
    claims = sdk.finished("idempotency claim")
    assert [s.attributes and s.attributes["idempotency.claimed"] for s in claims] == [
        True,
        False,
    ]
    assert claims[1].attributes is not None
    assert claims[1].attributes["idempotency.record_state"] == "completed"
    [replay] = sdk.finished("idempotency replay")
    assert replay.attributes is not None
    assert replay.attributes["idempotency.outcome"] == "replayed"
    assert replay.attributes["http.route"] == client.route
    assert replay.attributes["http.response.status_code"] == 201
    assert replay.attributes["idempotency.key_digest"] == client.key_digest()
    assert replay.start_time is not None
    assert replay.end_time is not None
    assert replay.start_time <= replay.end_time
    for span in sdk.spans.get_finished_spans():
        assert RAW_KEY not in repr(span.to_json())


async def test_a_failed_claim_is_an_error_span(
    adapter: str, make_client: MakeClient, sdk: Sdk
) -> None:
    client = make_client(adapter, telemetry=sdk.telemetry)
    client.store.next_claim = "unavailable"
    assert await client.post() == 503
    [claim] = sdk.finished("idempotency claim")
    assert not claim.status.is_ok
    assert [e.name for e in claim.events] == ["exception"]


def test_telemetry_must_be_a_flag_or_a_telemetry() -> None:
    with pytest.raises(ConfigurationError, match="telemetry must be True"):
        Options.build(store=MemoryStore(), telemetry="yes")


def test_true_uses_the_global_providers() -> None:
    options = Options.build(store=MemoryStore(), telemetry=True)
    assert type(options.store).__name__ == "TracedStore"
    assert len(options.listeners) == 1


def test_off_by_default_and_never_imported_until_enabled() -> None:
    options = Options.build(store=MemoryStore())
    assert isinstance(options.store, MemoryStore)
    assert options.listeners == ()
    code = (
        "import sys\n"
        "import idempotency_middleware, idempotency_middleware.asgi, idempotency_middleware.wsgi\n"
        "from idempotency_middleware import MemoryStore, Options\n"
        "Options.build(store=MemoryStore())\n"
        "assert not [m for m in sys.modules if m.startswith(('opentelemetry', 'cryptography'))]\n"
        "Options.build(store=MemoryStore(), telemetry=True)\n"
        "assert 'opentelemetry.trace' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
