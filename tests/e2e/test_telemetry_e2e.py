"""Clients built with telemetry, through the loopback mock server (sync and async twins).

Metrics, OpenTelemetry GenAI spans and metrics (SDK in-memory exporter/reader), one log
record per call and per failed attempt; streams, retries, fallbacks, errors, breakers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from ailib import AiClient, AsyncAiClient
from ailib.errors import AiLibError, RemoteError
from ailib.resilience import CircuitBreakerConfig, FallbackTarget, RetryConfig
from ailib.telemetry import MetricLabels, MetricsCollector
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

FAST = RetryConfig(max_retries=1, min_delay_ms=1, max_delay_ms=5)
KEY = "sk-test"


@attrs.define
class Otel:
    """An SDK tracer provider and meter provider with in-memory exporters."""

    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    reader: InMemoryMetricReader

    def finished(self, name: str | None = None) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if name is None or s.name == name]

    def points(self, metric: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                found += [p for m in sm.metrics if m.name == metric for p in m.data.data_points]
        return found


@pytest.fixture
def otel() -> Otel:
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    return Otel(tracer_provider, exporter, MeterProvider(metric_readers=[reader]), reader)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, event: str) -> list[logging.LogRecord]:
        return [r for r in self.records if getattr(r, "event", None) == event]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("ailib.telemetry")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


def telemetry(collector: MetricsCollector, otel: Otel, **more: Any) -> dict[str, Any]:
    return {
        "metrics": collector,
        "tracing": True,
        "tracer_provider": otel.tracer_provider,
        "meter_provider": otel.meter_provider,
        **more,
    }


def sync_builder(server: MockServer) -> Any:
    return (
        AiClient.builder().model("openai/gpt-4o").api_key(KEY).base_url(server.base_url("openai"))
    )


def async_builder(server: MockServer) -> Any:
    return (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key(KEY)
        .base_url(server.base_url("openai"))
    )


def anthropic_fallback(server: MockServer) -> FallbackTarget:
    return FallbackTarget(
        "anthropic/claude-sonnet-4-5", api_key="ak-test", base_url=server.base_url("anthropic")
    )


# ---- one chat call -----------------------------------------------------------------------


def check_chat(resp: Any, collector: MetricsCollector, otel: Otel, records: Records) -> None:
    snap = collector.get_snapshot()
    assert snap.total_requests == 1 and snap.successful_requests == 1
    assert snap.total_tokens_in == resp.usage.input_tokens > 0
    assert snap.total_tokens_out == resp.usage.output_tokens > 0
    assert resp.cost is not None and snap.total_cost == pytest.approx(resp.cost.total_cost)
    assert 0 < snap.latency_p50_ms < 30_000
    (call,) = otel.finished("chat gpt-4o")
    attrs_ = dict(call.attributes or {})
    assert attrs_["gen_ai.operation.name"] == "chat"
    assert attrs_["gen_ai.provider.name"] == "openai"
    assert attrs_["gen_ai.request.model"] == "gpt-4o"
    assert attrs_["gen_ai.response.model"] == resp.model
    assert attrs_["gen_ai.response.id"] == resp.id
    assert attrs_["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs_["gen_ai.usage.input_tokens"] == resp.usage.input_tokens
    assert attrs_["gen_ai.usage.output_tokens"] == resp.usage.output_tokens
    assert attrs_["gen_ai.request.temperature"] == 0.3
    assert attrs_["gen_ai.request.max_tokens"] == 64
    assert attrs_["server.address"] == "127.0.0.1" and isinstance(attrs_["server.port"], int)
    assert "gen_ai.input.messages" not in attrs_ and "error.type" not in attrs_  # no opt-in
    assert call.status.status_code != StatusCode.ERROR
    (attempt,) = otel.finished("ailib.attempt")
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.attributes["gen_ai.request.model"] == "gpt-4o"
    usage = {
        p.attributes["gen_ai.token.type"]: p.sum for p in otel.points("gen_ai.client.token.usage")
    }
    assert usage == {"input": resp.usage.input_tokens, "output": resp.usage.output_tokens}
    (log,) = records.events("ailib.call")
    assert log.levelno == logging.INFO
    fields = log.fields  # type: ignore[attr-defined]
    assert fields["provider"] == "openai" and fields["model"] == "gpt-4o"
    assert fields["status"] == "success" and fields["attempt"] == 1
    assert fields["request_id"] == resp.request_id and resp.request_id
    assert fields["tokens_in"] == resp.usage.input_tokens and fields["latency_ms"] > 0
    assert "prompt" not in fields and "completion" not in fields


def test_chat_is_measured_traced_and_logged_sync(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    with sync_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build() as client:
        assert "telemetry(metrics, traces, otel-metrics, logs)" in repr(client.pipeline)
        resp = client.chat().user("Hello there").temperature(0.3).max_tokens(64).execute()
    check_chat(resp, collector, otel, records)


async def test_chat_is_measured_traced_and_logged_async(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    client = await async_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    async with client:
        resp = await client.chat().user("Hello there").temperature(0.3).max_tokens(64).execute()
    check_chat(resp, collector, otel, records)


# ---- streams -------------------------------------------------------------------------------


def check_stream(collector: MetricsCollector, otel: Otel, records: Records, final: Any) -> None:
    (call,) = otel.finished("chat gpt-4o")
    attrs_ = dict(call.attributes or {})
    assert attrs_["gen_ai.request.stream"] is True
    assert attrs_["gen_ai.usage.output_tokens"] == final.usage.output_tokens
    assert attrs_["gen_ai.response.time_to_first_chunk"] > 0
    snap = collector.get_snapshot()
    (series,) = snap.series
    assert series.labels == MetricLabels("openai", "gpt-4o", "stream")
    assert snap.ttft_p50_ms > 0 and snap.time_per_output_token_ms > 0
    assert otel.points("gen_ai.client.operation.time_to_first_chunk")[0].count == 1
    assert otel.points("gen_ai.client.operation.time_per_output_chunk")[0].count >= 3
    (log,) = records.events("ailib.call")
    assert log.fields["operation"] == "stream" and log.fields["ttft_ms"] > 0  # type: ignore[attr-defined]


def test_a_streams_span_ends_when_the_stream_ends_sync(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(text="one two three four five", chunk_delay=0.01))
    client = sync_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    with client, client.chat().user("Hi").stream() as stream:
        for i, _event in enumerate(stream):
            if i == 1:  # mid-stream: the attempt is over, the call is not
                assert otel.finished("ailib.attempt") and not otel.finished("chat gpt-4o")
                assert collector.get_snapshot().total_requests == 0
        final = stream.final_response()
    check_stream(collector, otel, records, final)


async def test_a_streams_span_ends_when_the_stream_ends_async(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(text="one two three four five", chunk_delay=0.01))
    client = await async_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    async with client, client.chat().user("Hi").stream() as stream:
        i = 0
        async for _event in stream:
            if i == 1:
                assert otel.finished("ailib.attempt") and not otel.finished("chat gpt-4o")
                assert collector.get_snapshot().total_requests == 0
            i += 1
        final = await stream.final_response()
    check_stream(collector, otel, records, final)


def check_closed_early(collector: MetricsCollector, otel: Otel) -> None:
    (call,) = otel.finished("chat gpt-4o")
    assert (call.attributes or {})["ailib.closed_early"] is True
    assert call.status.status_code != StatusCode.ERROR
    snap = collector.get_snapshot()
    assert snap.cancelled_requests == 1 and snap.failed_requests == 0


def test_a_stream_closed_early_ends_its_span_sync(mock_server: MockServer, otel: Otel) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(text="a b c d e f g h"))
    client = sync_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    with client, client.chat().user("Hi").stream() as stream:
        for _event in stream:
            break
    check_closed_early(collector, otel)


async def test_a_stream_closed_early_ends_its_span_async(
    mock_server: MockServer, otel: Otel
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(text="a b c d e f g h"))
    client = await async_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    async with client, client.chat().user("Hi").stream() as stream:
        async for _event in stream:
            break
    check_closed_early(collector, otel)


# ---- retries, fallbacks, errors, breakers --------------------------------------------------


def check_retry_and_fallback(collector: MetricsCollector, otel: Otel, records: Records) -> None:
    (call,) = otel.finished("chat gpt-4o")
    attempts = otel.finished("ailib.attempt")
    assert [(s.attributes or {})["ailib.attempt.number"] for s in attempts] == [1, 2, 3]
    assert [(s.attributes or {}).get("error.type") for s in attempts] == ["E3001", "E3001", None]
    assert [(s.attributes or {})["gen_ai.provider.name"] for s in attempts] == [
        "openai", "openai", "anthropic",
    ]  # fmt: skip
    assert all(s.parent and s.parent.span_id == call.context.span_id for s in attempts)
    events = {e.name: dict(e.attributes or {}) for e in call.events}
    assert events["ailib.fallback"]["ailib.fallback.from"] == "openai/gpt-4o"
    assert events["ailib.fallback"]["ailib.fallback.code"] == "E3001"
    assert "ailib.retry" in events
    call_attrs = dict(call.attributes or {})
    assert call_attrs["ailib.served_by"] == "anthropic/claude-sonnet-4-5"
    assert call_attrs["gen_ai.provider.name"] == "anthropic"
    snap = collector.get_snapshot()
    assert snap.successful_requests == 1 and snap.retries == 1 and snap.fallbacks == 1
    by_model = {s.labels.model: s for s in snap.series}
    assert by_model["gpt-4o"].fallbacks == 1 and by_model["claude-sonnet-4-5"].requests == 1
    failed = records.events("ailib.attempt")
    failed = [r for r in failed if r.fields["status"] == "error"]  # type: ignore[attr-defined]
    assert [r.fields["attempt"] for r in failed] == [1, 2]  # type: ignore[attr-defined]
    assert all(r.fields["code"] == "E3001" for r in failed)  # type: ignore[attr-defined]
    (log,) = records.events("ailib.call")
    assert log.fields["retries"] == 1 and log.fields["served_by"] == "anthropic/claude-sonnet-4-5"  # type: ignore[attr-defined]


def test_retries_and_fallback_hops_are_visible_sync(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=500, repeat=2))
    builder = (
        sync_builder(mock_server)
        .with_retry(FAST)
        .with_fallbacks([anthropic_fallback(mock_server)])
        .with_telemetry(**telemetry(collector, otel))
    )
    with builder.build() as client:
        assert client.chat().user("Hi").execute().served_by == "anthropic/claude-sonnet-4-5"
    check_retry_and_fallback(collector, otel, records)


async def test_retries_and_fallback_hops_are_visible_async(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=500, repeat=2))
    builder = (
        async_builder(mock_server)
        .with_retry(FAST)
        .with_fallbacks([anthropic_fallback(mock_server)])
        .with_telemetry(**telemetry(collector, otel))
    )
    async with await builder.build() as client:
        resp = await client.chat().user("Hi").execute()
        assert resp.served_by == "anthropic/claude-sonnet-4-5"
    check_retry_and_fallback(collector, otel, records)


def check_failure(collector: MetricsCollector, otel: Otel, records: Records) -> None:
    snap = collector.get_snapshot()
    assert snap.failed_requests == 1 and snap.errors_by_code == {"E1002": 1}
    assert snap.breaker_opens == 0
    (call,) = otel.finished("chat gpt-4o")
    assert call.status.status_code == StatusCode.ERROR
    assert (call.attributes or {})["error.type"] == "E1002"
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "E1002"
    (log,) = records.events("ailib.call")
    assert log.levelno == logging.WARNING
    assert log.fields["code"] == "E1002" and log.fields["http_status"] == 401  # type: ignore[attr-defined]
    assert log.fields["request_id"]  # type: ignore[attr-defined]


def test_a_failed_call_counts_its_code_sync(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=401))
    client = sync_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    with client, pytest.raises(RemoteError):
        client.chat().user("Hi").execute()
    check_failure(collector, otel, records)


async def test_a_failed_call_counts_its_code_async(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=401))
    client = await async_builder(mock_server).with_telemetry(**telemetry(collector, otel)).build()
    async with client:
        with pytest.raises(RemoteError):
            await client.chat().user("Hi").execute()
    check_failure(collector, otel, records)


BREAKER = CircuitBreakerConfig(failure_threshold=1, cooldown_seconds=60)


def test_breaker_opens_are_counted_sync(mock_server: MockServer) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=500, repeat=3))
    builder = sync_builder(mock_server).with_retry(FAST).with_circuit_breaker(BREAKER)
    with builder.with_telemetry(metrics=collector).build() as client:
        with pytest.raises(AiLibError):
            client.chat().user("Hi").execute()
        assert client.circuit_state == "open"
    snap = collector.get_snapshot()
    assert snap.breaker_opens == 1 and snap.failed_requests == 1
    assert "ailib_breaker_opens_total" in collector.to_prometheus()


async def test_breaker_opens_are_counted_async(mock_server: MockServer) -> None:
    collector = MetricsCollector()
    mock_server.push(Scenario(status=500, repeat=3))
    builder = async_builder(mock_server).with_retry(FAST).with_circuit_breaker(BREAKER)
    async with await builder.with_telemetry(metrics=collector).build() as client:
        with pytest.raises(AiLibError):
            await client.chat().user("Hi").execute()
        assert client.circuit_state == "open"
    snap = collector.get_snapshot()
    assert snap.breaker_opens == 1 and snap.failed_requests == 1


# ---- content only on opt-in ---------------------------------------------------------------


def check_content(otel: Otel, records: Records) -> None:
    (call,) = otel.finished("chat gpt-4o")
    attrs_ = dict(call.attributes or {})
    assert '"content": "Tell me"' in str(attrs_["gen_ai.input.messages"])
    assert "Be brief." in str(attrs_["gen_ai.system_instructions"])
    assert "echo: Tell me" in str(attrs_["gen_ai.output.messages"])
    (log,) = records.events("ailib.call")
    assert log.fields["completion"] == "echo: Tell me"  # type: ignore[attr-defined]
    assert log.fields["prompt"][-1] == {"role": "user", "content": "Tell me"}  # type: ignore[attr-defined]


def test_prompts_and_completions_only_on_opt_in_sync(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    options = telemetry(MetricsCollector(), otel, capture_content=True, log_content=True)
    with sync_builder(mock_server).with_telemetry(**options).build() as client:
        client.chat().system("Be brief.").user("Tell me").execute()
    check_content(otel, records)


async def test_prompts_and_completions_only_on_opt_in_async(
    mock_server: MockServer, otel: Otel, records: Records
) -> None:
    options = telemetry(MetricsCollector(), otel, capture_content=True, log_content=True)
    async with await async_builder(mock_server).with_telemetry(**options).build() as client:
        await client.chat().system("Be brief.").user("Tell me").execute()
    check_content(otel, records)


# ---- a plain client pays nothing ----------------------------------------------------------


def test_clients_without_telemetry_have_no_telemetry_layer(mock_server: MockServer) -> None:
    with sync_builder(mock_server).build() as client:
        assert "telemetry" not in repr(client.pipeline)
    logs_only = sync_builder(mock_server).with_telemetry().build()
    with logs_only:
        assert "telemetry(logs)" in repr(logs_only.pipeline)
        assert logs_only.chat().user("hi").execute().content == "echo: hi"
