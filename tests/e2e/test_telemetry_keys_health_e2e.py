"""Telemetry end to end: no key in anything captured, the issue's example on the global
OpenTelemetry provider, health checks with probes, feedback tied to ``resp.request_id``
(sync and async twins, loopback mock server)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError
from ailib.telemetry import (
    HealthChecker,
    InMemoryFeedbackSink,
    MetricsCollector,
    RatingFeedback,
    ThumbsFeedback,
    get_feedback_sink,
    report_feedback,
    report_feedback_sync,
    set_feedback_sink,
)
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

KEY = "sk-live-Telemetry0123456789abcdefSECRET"


class Everything(logging.Handler):
    """Every record of every logger, formatted with all its attributes."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        shown = {k: v for k, v in vars(record).items() if k != "exc_info"}
        self.texts.append(self.format(record) + " " + repr(shown))


@pytest.fixture
def everything() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old)


def leaked(text: str) -> list[str]:
    """The key, or any 10-character run of it, in ``text``."""
    return [KEY[i : i + 10] for i in range(len(KEY) - 9) if KEY[i : i + 10] in text]


ECHOED = Scenario(
    status=401,
    error_body={"error": {"message": f"Incorrect API key provided: {KEY}", "type": "auth"}},
)


def providers() -> tuple[TracerProvider, InMemorySpanExporter, MeterProvider, InMemoryMetricReader]:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader


def scan(everything: Everything, exporter: Any, reader: Any, collector: Any) -> None:
    spans = [json.loads(s.to_json()) for s in exporter.get_finished_spans()]
    assert len(spans) >= 6 and everything.texts
    captured = "\n".join(
        [
            *everything.texts,
            json.dumps(spans),
            reader.get_metrics_data().to_json(),
            collector.to_prometheus(),
            repr(collector.get_snapshot()),
        ]
    )
    assert "Authorization" in captured  # the DEBUG request dump ran, masked
    assert not leaked(captured), leaked(captured)


def test_no_key_reaches_a_record_span_or_metric_at_debug_sync(
    mock_server: MockServer, everything: Everything
) -> None:
    tracer_provider, exporter, meter_provider, reader = providers()
    collector = MetricsCollector()
    builder = (
        AiClient.builder().model("openai/gpt-4o").api_key(KEY).base_url(mock_server.base_url("openai"))
        .with_telemetry(metrics=collector, tracing=True, tracer_provider=tracer_provider,
                        meter_provider=meter_provider, log_content=True, capture_content=True)
    )  # fmt: skip
    with builder.build() as client:
        client.chat().user(f"my key is {KEY}").execute()
        with client.chat().user(f"again {KEY}").stream() as stream:
            for _ in stream:
                pass
        mock_server.push(ECHOED)
        with pytest.raises(RemoteError):
            client.chat().user("hi").execute()
    scan(everything, exporter, reader, collector)


async def test_no_key_reaches_a_record_span_or_metric_at_debug_async(
    mock_server: MockServer, everything: Everything
) -> None:
    tracer_provider, exporter, meter_provider, reader = providers()
    collector = MetricsCollector()
    builder = (
        AsyncAiClient.builder().model("openai/gpt-4o").api_key(KEY)
        .base_url(mock_server.base_url("openai"))
        .with_telemetry(metrics=collector, tracing=True, tracer_provider=tracer_provider,
                        meter_provider=meter_provider, log_content=True, capture_content=True)
    )  # fmt: skip
    async with await builder.build() as client:
        await client.chat().user(f"my key is {KEY}").execute()
        async with client.chat().user(f"again {KEY}").stream() as stream:
            async for _ in stream:
                pass
        mock_server.push(ECHOED)
        with pytest.raises(RemoteError):
            await client.chat().user("hi").execute()
    scan(everything, exporter, reader, collector)


# ---- the issue's example: spans on the global tracer provider ------------------------------

_GLOBAL: list[InMemorySpanExporter] = []


def global_spans() -> InMemorySpanExporter:
    """An in-memory exporter on the global tracer provider (set once per process)."""
    if not _GLOBAL:
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _GLOBAL.append(exporter)
    _GLOBAL[0].clear()
    return _GLOBAL[0]


def test_issue_example_spans_go_to_the_global_provider_sync(mock_server: MockServer) -> None:
    exporter = global_spans()
    collector = MetricsCollector()
    client = (
        AiClient.builder().model("openai/gpt-4o")
        .api_key("sk-test").base_url(mock_server.base_url("openai"))  # the mock server
        .with_telemetry(metrics=collector, tracing=True)   # spans go to the global OTel
        .build()
    )  # fmt: skip
    with client:
        client.chat().user("Hello").execute()
    assert collector.get_snapshot().total_requests == 1
    assert collector.get_snapshot().latency_p99_ms > 0
    assert "ailib_requests_total" in collector.to_prometheus()
    assert [s.name for s in exporter.get_finished_spans()] == ["ailib.attempt", "chat gpt-4o"]


async def test_issue_example_spans_go_to_the_global_provider_async(
    mock_server: MockServer,
) -> None:
    exporter = global_spans()
    collector = MetricsCollector()
    client = await (
        AsyncAiClient.builder().model("openai/gpt-4o")
        .api_key("sk-test").base_url(mock_server.base_url("openai"))
        .with_telemetry(metrics=collector, tracing=True)
        .build()
    )  # fmt: skip
    async with client:
        await client.chat().user("Hello").execute()
    assert collector.get_snapshot().total_requests == 1
    assert [s.name for s in exporter.get_finished_spans()] == ["ailib.attempt", "chat gpt-4o"]


# ---- health --------------------------------------------------------------------------------


def test_health_from_live_signals_and_probes_sync(mock_server: MockServer) -> None:
    collector = MetricsCollector()
    builder = AiClient.builder().model("openai/gpt-4o").api_key("sk-test")
    with (
        builder.base_url(mock_server.base_url("openai"))
        .with_telemetry(metrics=collector)
        .build() as client
    ):
        checker = HealthChecker.for_client(client, min_requests=2)
        assert checker.check("openai").status == "unknown"
        for _ in range(3):
            client.chat().user("hi").execute()
        health = checker.check("openai")
        assert health.status == "healthy" and health.requests == 3 and health.latency_p95_ms > 0
        probe = checker.probe(client)
        assert probe.ok and probe.provider == "openai" and probe.latency_ms > 0
        assert mock_server.requests[-1].json()["max_completion_tokens"] == 1  # one token
        mock_server.push(Scenario(status=401))
        failed = checker.probe(client)
        assert not failed.ok and failed.code == "E1002"
        health = checker.check("openai")
        assert health.status == "unhealthy" and health.probe == failed
        assert any("probe failed: E1002" in r for r in health.reasons)


async def test_health_from_live_signals_and_probes_async(mock_server: MockServer) -> None:
    collector = MetricsCollector()
    builder = AsyncAiClient.builder().model("openai/gpt-4o").api_key("sk-test")
    client = (
        await builder.base_url(mock_server.base_url("openai"))
        .with_telemetry(metrics=collector)
        .build()
    )
    async with client:
        checker = HealthChecker.for_client(client, min_requests=2)
        for _ in range(3):
            await client.chat().user("hi").execute()
        assert checker.check("openai").status == "healthy"
        probe = await checker.aprobe(client)
        assert probe.ok
        mock_server.push(Scenario(status=401))
        failed = await checker.aprobe(client)
        assert not failed.ok and failed.code == "E1002"
        assert checker.check("openai").status == "unhealthy"
        assert checker.overall() == "unhealthy"


# ---- feedback tied to the call -------------------------------------------------------------


@pytest.fixture
def sink() -> Iterator[InMemoryFeedbackSink]:
    before = get_feedback_sink()
    memory = InMemoryFeedbackSink()
    set_feedback_sink(memory)
    yield memory
    set_feedback_sink(before)


def test_feedback_ties_to_the_calls_request_id_sync(
    mock_server: MockServer, sink: InMemoryFeedbackSink
) -> None:
    with AiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai")
    ) as client:
        resp = client.chat().user("hi").execute()
    assert resp.request_id
    report_feedback_sync(ThumbsFeedback(request_id=resp.request_id, is_positive=True))
    (event,) = sink.get_events_by_request(resp.request_id)
    assert isinstance(event, ThumbsFeedback) and event.is_positive


async def test_feedback_ties_to_the_calls_request_id_async(
    mock_server: MockServer, sink: InMemoryFeedbackSink
) -> None:
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai")
    )
    async with client:
        resp = await client.chat().user("hi").execute()
    assert resp.request_id
    await report_feedback(RatingFeedback(request_id=resp.request_id, rating=4))
    (event,) = sink.get_events_by_request(resp.request_id)
    assert isinstance(event, RatingFeedback) and event.rating == 4


# ---- the README's Telemetry example, run as shown ------------------------------------------


def test_readme_telemetry_example_runs_as_shown(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mock_server: MockServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Telemetry\n", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match
    (tmp_path / "openai.yaml").write_text(
        f"endpoint:\n  base_url: {mock_server.base_url('openai')}\n"
    )  # the README's override mechanism points the provider at the mock server
    monkeypatch.setenv("AI_PROTOCOL_PATH", str(tmp_path))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    exporter = global_spans()
    namespace: dict[str, Any] = {}
    exec(compile(match.group(1), "README.md", "exec"), namespace)
    namespace["client"].close()
    assert namespace["collector"].get_snapshot().total_requests == 1
    assert "ailib_requests_total" in capsys.readouterr().out
    assert [s.name for s in exporter.get_finished_spans()] == ["ailib.attempt", "chat gpt-4o"]
