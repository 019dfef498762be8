"""OpenTelemetry: a span on each claim and each replay, and a counter of outcomes.

Imported only when enabled, with the option ``telemetry=True`` (``IDEMPOTENCY_TELEMETRY``
in Django and Flask) or a :class:`Telemetry`, so ``opentelemetry-api`` is needed only
then (``pip install 'idempotency-middleware[otel]'``). As the
``opentelemetry-instrumentation-*`` packages do, it reports to the global tracer and
meter providers unless given its own; with the API alone and no SDK configured, every
call is a no-op.

- Span ``idempotency claim`` around each claim (the store round trip that decides
  whether the request runs), with ``idempotency.claimed`` and, when another record
  stands, ``idempotency.record_state``. It is a child of the current span, the
  server span of the request where the framework is instrumented.
- Span ``idempotency replay`` for each replayed response, from the moment the body
  was read to the replay.
- Counter ``idempotency.outcomes`` (unit ``{request}``), one per outcome, with the
  attributes ``idempotency.outcome``, ``http.route``, ``http.request.method`` and
  ``http.response.status_code`` (when there is one).

Keys appear only as ``idempotency.key_digest``, a prefix of the lookup key's digest.
"""

from __future__ import annotations

import time

from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from idempotency_middleware.outcomes import OutcomeEvent
from idempotency_middleware.records import Claim
from idempotency_middleware.stores.base import Store
from idempotency_middleware.stores.wrapping import StoreWrapper

__all__ = ["Telemetry", "TracedStore"]

_SCOPE = "idempotency_middleware"
_DIGEST_CHARS = 16


def _claimed(span: Span, claim: Claim) -> Claim:
    span.set_attribute("idempotency.claimed", claim.claimed)
    if claim.record is not None:
        span.set_attribute("idempotency.record_state", claim.record.state.value)
    return claim


class TracedStore(StoreWrapper):
    """``inner`` with a span around each claim."""

    def __init__(self, inner: Store, tracer: Tracer) -> None:
        super().__init__(inner)
        self._tracer = tracer

    def _span(self, key: str) -> Span:
        return self._tracer.start_span(
            "idempotency claim", attributes={"idempotency.key_digest": key[:_DIGEST_CHARS]}
        )

    def claim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        with trace.use_span(self._span(key), end_on_exit=True) as span:
            return _claimed(span, self.inner.claim(key, owner, fingerprint, lease))

    async def aclaim(self, key: str, owner: str, fingerprint: str, lease: float) -> Claim:
        with trace.use_span(self._span(key), end_on_exit=True) as span:
            return _claimed(span, await self.inner.aclaim(key, owner, fingerprint, lease))


class Telemetry:
    """Where the middleware's spans and measurements go: the global providers, or the
    ``tracer_provider`` and ``meter_provider`` given (as the instrumentors take them).

    Pass ``telemetry=Telemetry(tracer_provider=..., meter_provider=...)`` to the
    middleware, or ``telemetry=True`` for the global providers.
    """

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self.outcomes = meter.create_counter(
            "idempotency.outcomes",
            unit="{request}",
            description="Requests handled by the idempotency middleware, by outcome.",
        )

    def traced(self, store: Store) -> Store:
        """``store`` with a span around each claim."""
        return TracedStore(store, self.tracer)

    def record(self, event: OutcomeEvent) -> None:
        """Count ``event``; a replay also gets its span."""
        attributes: dict[str, AttributeValue] = {
            "idempotency.outcome": event.outcome,
            "http.route": event.route,
            "http.request.method": event.method,
        }
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        self.outcomes.add(1, attributes)
        if event.replayed:
            end = time.time_ns()
            span = self.tracer.start_span(
                "idempotency replay",
                start_time=end - int(event.duration * 1e9),
                attributes={**attributes, "idempotency.key_digest": event.key_digest},
            )
            span.end(end_time=end)
