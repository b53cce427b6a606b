"""Tracer on OpenTelemetry (in-memory exporter), the no-op path, GenAI attribute names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ailib.dialects import ChatRequest
from ailib.errors import ConfigurationError, InvalidRequestError, RemoteError
from ailib.runtime.context import CallContext, Target
from ailib.telemetry import Tracer, genai, tracing
from ailib.types.messages import Message
from ailib.types.response import ChatResponse, Usage


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    return tp


@pytest.fixture
def no_otel(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if the OpenTelemetry API were not installed."""
    monkeypatch.setattr(tracing, "_trace_api", None)
    monkeypatch.setattr(tracing, "_checked", True)
    yield


def test_span_records_attributes_events_and_nesting(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = Tracer("my_service", tracer_provider=provider)
    assert tracer.enabled
    with tracer.span("outer", {"a": 1, "skip": None}) as outer:
        outer.set_attribute("model", "gpt-4o").add_event("step", {"n": 2})
        with tracer.span("inner", kind="client"):
            pass
    inner_span, outer_span = exporter.get_finished_spans()
    assert outer_span.name == "outer" and dict(outer_span.attributes or {}) == {
        "a": 1,
        "model": "gpt-4o",
    }
    assert [e.name for e in outer_span.events] == ["step"]
    assert inner_span.parent is not None
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert inner_span.kind == SpanKind.CLIENT


def test_an_exception_marks_the_span_failed_without_leaking_a_key(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    from ailib.runtime.redact import Secret, register

    key = Secret("sk-tracing-test-key-0123456789")
    register([key])
    tracer = Tracer("svc", tracer_provider=provider)
    with pytest.raises(RemoteError), tracer.span("call"):
        raise RemoteError(f"bad key {key.reveal()}", code="E1002", status=401)
    (span,) = exporter.get_finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None and span.attributes["error.type"] == "E1002"
    shown = repr(span.to_json())
    assert key.reveal() not in shown and "exception" in [e.name for e in span.events]
    del key


def test_start_span_is_not_current_and_takes_a_parent(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    tracer = Tracer("svc", tracer_provider=provider)
    parent = tracer.start_span("parent")
    child = tracer.start_span("child", parent=parent)
    child.end()
    parent.end()
    child_span, parent_span = exporter.get_finished_spans()
    assert child_span.parent is not None
    assert child_span.parent.span_id == parent_span.context.span_id
    with pytest.raises(InvalidRequestError, match="span kind"):
        tracer.start_span("x", kind="sideways")


def test_without_opentelemetry_spans_do_nothing_cheaply(no_otel: None) -> None:
    tracer = Tracer("my_service")
    assert not tracer.enabled and "enabled=False" in repr(tracer)
    with tracer.span("api_call") as span:
        span.set_attribute("model", "gpt-4o").add_event("e").set_error("E1")
        assert span is tracing.NOOP_SPAN and not span.is_recording
    assert tracer.start_span("x") is tracing.NOOP_SPAN
    with pytest.raises(ConfigurationError, match=r"ailib\[otel\]"):
        tracing.require_otel("with_telemetry(tracing=True)")


def test_the_builder_refuses_tracing_without_opentelemetry(no_otel: None) -> None:
    from ailib import AiClient
    from ailib.telemetry import MetricsCollector

    builder = AiClient.builder().model("openai/gpt-4o")
    with pytest.raises(ConfigurationError, match=r"pip install 'ailib\[otel\]'"):
        builder.with_telemetry(tracing=True)
    builder.with_telemetry(metrics=MetricsCollector())  # metrics alone need no extra


def test_with_telemetry_refuses_a_wrong_collector() -> None:
    from ailib import AiClient

    with pytest.raises(ConfigurationError, match="MetricsCollector"):
        AiClient.builder().with_telemetry(metrics={"not": "a collector"})


def test_attribute_names_are_the_semantic_conventions_packages() -> None:
    from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as g
    from opentelemetry.semconv._incubating.metrics import gen_ai_metrics as m
    from opentelemetry.semconv.attributes import error_attributes, server_attributes

    assert genai.OPERATION_NAME == g.GEN_AI_OPERATION_NAME == "gen_ai.operation.name"
    assert genai.PROVIDER_NAME == g.GEN_AI_PROVIDER_NAME
    assert genai.REQUEST_MODEL == g.GEN_AI_REQUEST_MODEL
    assert genai.RESPONSE_MODEL == g.GEN_AI_RESPONSE_MODEL
    assert genai.RESPONSE_ID == g.GEN_AI_RESPONSE_ID
    assert genai.RESPONSE_FINISH_REASONS == g.GEN_AI_RESPONSE_FINISH_REASONS
    assert genai.USAGE_INPUT_TOKENS == g.GEN_AI_USAGE_INPUT_TOKENS
    assert genai.USAGE_OUTPUT_TOKENS == g.GEN_AI_USAGE_OUTPUT_TOKENS
    assert genai.REQUEST_TEMPERATURE == g.GEN_AI_REQUEST_TEMPERATURE
    assert genai.INPUT_MESSAGES == g.GEN_AI_INPUT_MESSAGES
    assert genai.SERVER_ADDRESS == server_attributes.SERVER_ADDRESS
    assert genai.SERVER_PORT == server_attributes.SERVER_PORT
    assert genai.ERROR_TYPE == error_attributes.ERROR_TYPE
    assert genai.METRIC_OPERATION_DURATION == m.GEN_AI_CLIENT_OPERATION_DURATION
    assert genai.METRIC_TOKEN_USAGE == m.GEN_AI_CLIENT_TOKEN_USAGE


class FakeEngine:
    base_url = "https://api.openai.com/v1"

    class spec:
        id = "openai"


def context(**params: Any) -> CallContext:
    request = ChatRequest(
        model="gpt-4o",
        messages=[Message.system("Be brief."), Message.user("Hello")],
        params=params,
    )
    return CallContext("stream", Target(FakeEngine(), "gpt-4o"), request=request)


def test_request_attributes_follow_the_conventions() -> None:
    ctx = context(temperature=0.2, max_tokens=50, top_p=0.9, stop="END", seed=7, n=2)
    attrs = genai.request_attributes(ctx)
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "server.address": "api.openai.com",
        "server.port": 443,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.request.choice.count": 2,
        "gen_ai.request.stop_sequences": ["END"],
        "gen_ai.request.stream": True,
    }


def test_response_and_content_attributes() -> None:
    response = ChatResponse(
        content="Hi!",
        finish_reason="stop",
        usage=Usage(input_tokens=3, output_tokens=2, total_tokens=5, cached_tokens=1),
        model="gpt-4o-2024",
        id="resp-1",
    )
    attrs = genai.response_attributes(response)
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024"
    assert attrs["gen_ai.response.id"] == "resp-1"
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["gen_ai.usage.input_tokens"] == 3 and attrs["gen_ai.usage.output_tokens"] == 2
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 1
    content = genai.content_attributes(context())
    assert '"content": "Hello"' in content["gen_ai.input.messages"]
    assert "Be brief." in content["gen_ai.system_instructions"]
    assert '"Hi!"' in genai.output_attributes(response)["gen_ai.output.messages"]


def test_provider_names_and_servers() -> None:
    assert genai.provider_name("gemini") == "gcp.gemini"
    assert genai.provider_name("bedrock") == "aws.bedrock"
    assert genai.provider_name("groq") == "groq"
    assert genai.server_of("http://127.0.0.1:8080/v1") == ("127.0.0.1", 8080)
    assert genai.server_of("http://[::1/") == ("", None)
    assert genai.error_type(RemoteError("x", code="E2001")) == "E2001"
    assert genai.error_type(ValueError("x")) == "ValueError"
