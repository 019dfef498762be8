"""The in-process WSGI driver: Django and Flask apps called directly, bare and with ours.

The same scenarios as the ASGI table, one request at a time (a WSGI app is called by one
thread per request; sixteen threads on two cores would measure the GIL). Each ratio is
to the bare app of the same framework. Ours runs on the memory store, so the table shows
what the adapter and the core cost, not a store.
"""

from __future__ import annotations

import gc
import io
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.app import ORDER_BODY, Calls
from benchmarks.inprocess import BenchmarkError
from benchmarks.settings import SCENARIOS, Mode, Scenario
from benchmarks.stats import Measurement
from idempotency_middleware.stores import MemoryStore

__all__ = ["WSGI_SPECS", "measure_wsgi"]

WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


@dataclass(frozen=True)
class WsgiSpec:
    """A WSGI variant: ``reference`` names the bare app its ratios are to."""

    name: str
    reference: str
    build: Callable[[], tuple[WSGIApp, Calls]]
    protects: bool = True
    missing: Callable[[], str | None] = field(default=lambda: None)


def _flask(with_ours: bool) -> Callable[[], tuple[WSGIApp, Calls]]:
    def build() -> tuple[WSGIApp, Calls]:
        from benchmarks.flask_site import create_flask_app

        app, calls = create_flask_app(MemoryStore() if with_ours else None)
        return app.wsgi_app, calls

    return build


def _django(with_ours: bool) -> Callable[[], tuple[WSGIApp, Calls]]:
    def build() -> tuple[WSGIApp, Calls]:
        from benchmarks.django_site import create_django_app

        handler, calls = create_django_app(MemoryStore() if with_ours else None)
        return handler, calls

    return build


def _flask_adapter_missing() -> str | None:
    import importlib.util

    if importlib.util.find_spec("idempotency_middleware.flask") is None:
        return "idempotency_middleware.flask does not exist yet"
    return None


def _django_adapter_missing() -> str | None:
    from benchmarks.django_site import django_adapter_missing

    return django_adapter_missing()


WSGI_SPECS = (
    WsgiSpec("flask/bare", "flask/bare", _flask(False), protects=False),
    WsgiSpec("flask/ours-memory", "flask/bare", _flask(True), missing=_flask_adapter_missing),
    WsgiSpec("django/bare", "django/bare", _django(False), protects=False),
    WsgiSpec("django/ours-memory", "django/bare", _django(True), missing=_django_adapter_missing),
)


def _environ(scenario: Scenario, key: str | None) -> dict[str, Any]:
    body = ORDER_BODY if scenario.method == "POST" else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scenario.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scenario.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "benchmarks/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if scenario.method == "POST":
        environ["CONTENT_TYPE"] = "application/json"
        environ["CONTENT_LENGTH"] = str(len(body))
    if key is not None:
        environ["HTTP_IDEMPOTENCY_KEY"] = key
    return environ


def _prepare(scenario: Scenario, count: int, key: str | None) -> list[dict[str, Any]]:
    environs = []
    for _ in range(count):
        if not scenario.keyed:
            request_key = None
        elif scenario.new_key_each_time:
            request_key = str(uuid.uuid4())
        else:
            request_key = key
        environs.append(_environ(scenario, request_key))
    return environs


def _run(app: WSGIApp, environs: list[dict[str, Any]], statuses: Counter[int]) -> list[float]:
    clock = time.perf_counter_ns
    latencies = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses[int(status[:3])] += 1
        return None

    for environ in environs:
        started = clock()
        result = app(environ, start_response)
        try:
            for _chunk in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        latencies.append((clock() - started) / 1e3)
    return latencies


def _measure(
    spec: WsgiSpec, app: WSGIApp, calls: Calls, scenario: Scenario, count: int, round_: int
) -> Measurement:
    key = None
    if scenario.keyed and not scenario.new_key_each_time:
        key = str(uuid.uuid4())
        _run(app, _prepare(scenario, 1, key), Counter())
    environs = _prepare(scenario, count, key)
    statuses: Counter[int] = Counter()
    ran_before = calls.placed + calls.read
    gc.collect()
    started = time.perf_counter()
    latencies = _run(app, environs, statuses)
    seconds = time.perf_counter() - started
    expected = 201 if scenario.method == "POST" else 200
    if statuses != {expected: count}:
        raise BenchmarkError(f"{spec.name} on {scenario.name}: got {dict(statuses)}")
    ran = calls.placed + calls.read - ran_before
    if ran != (0 if key is not None and spec.protects else count):
        raise BenchmarkError(f"{spec.name} on {scenario.name}: the handler ran {ran} times")
    return Measurement(spec.name, scenario.name, 1, round_, count, seconds, latencies)


def measure_wsgi(
    mode: Mode, log: Callable[[str], None]
) -> tuple[list[Measurement], dict[str, str], list[str]]:
    """Every WSGI variant that can run here, in interleaved rounds; each measured
    variant's reference (its framework's bare app), and a note for each one skipped."""
    notes, built = [], []
    for spec in WSGI_SPECS:
        reason = spec.missing()
        if reason is not None:
            notes.append(f"skipped {spec.name}: {reason} (its hook: benchmarks/wsgi_driver.py)")
            continue
        app, calls = spec.build()
        counts = {}
        for scenario in SCENARIOS:
            count = 8
            while True:
                seconds = _measure(spec, app, calls, scenario, count, -1).seconds
                if seconds >= mode.warmup_seconds:
                    break
                count *= 2
            counts[scenario.name] = max(16, round(count / seconds * mode.cell_seconds))
        built.append((spec, app, calls, counts))
    measurements = []
    for round_ in range(mode.rounds):
        for index, scenario in enumerate(SCENARIOS):
            shift = (round_ + index) % max(1, len(built))
            for spec, app, calls, counts in built[shift:] + built[:shift]:
                count = counts[scenario.name]
                measurements.append(_measure(spec, app, calls, scenario, count, round_))
        log(f"  round {round_ + 1}/{mode.rounds}")
    return measurements, {spec.name: spec.reference for spec, *_ in built}, notes
