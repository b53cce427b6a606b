"""Telemetry: structured logs, metrics, OpenTelemetry GenAI traces, health, feedback.

Example::

    from ailib import AiClient
    from ailib.telemetry import MetricsCollector

    collector = MetricsCollector()
    client = (AiClient.builder().model("openai/gpt-4o")
              .with_telemetry(metrics=collector, tracing=True)   # spans: ailib[otel]
              .build())
    client.chat().user("Hello").execute()
    collector.get_snapshot().latency_p99_ms
    print(collector.to_prometheus())

Names load lazily: ``import ailib.telemetry`` imports nothing else; OpenTelemetry and
prometheus_client (optional extras) load only when tracing or a registry needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "get_logger": "ailib.telemetry.logs",
    "StructuredLogger": "ailib.telemetry.logs",
    "AiLibLogger": "ailib.telemetry.logs",  # the seed's name for StructuredLogger
    "JsonFormatter": "ailib.telemetry.logs",
    "TELEMETRY_LOGGER": "ailib.telemetry.logs",
    "MetricsCollector": "ailib.telemetry.metrics",
    "MetricLabels": "ailib.telemetry.metrics",
    "MetricsSnapshot": "ailib.telemetry.metrics",
    "SeriesSnapshot": "ailib.telemetry.metrics",
    "Tracer": "ailib.telemetry.tracing",
    "Span": "ailib.telemetry.tracing",
    "HealthChecker": "ailib.telemetry.health",
    "ProviderHealth": "ailib.telemetry.health",
    "ProbeResult": "ailib.telemetry.health",
    "TelemetryOptions": "ailib.telemetry.observer",
    "FeedbackEvent": "ailib.telemetry.feedback",
    "RatingFeedback": "ailib.telemetry.feedback",
    "ThumbsFeedback": "ailib.telemetry.feedback",
    "ChoiceSelectionFeedback": "ailib.telemetry.feedback",
    "FeedbackSink": "ailib.telemetry.feedback",
    "InMemoryFeedbackSink": "ailib.telemetry.feedback",
    "JsonlFeedbackSink": "ailib.telemetry.feedback",
    "CallbackFeedbackSink": "ailib.telemetry.feedback",
    "MultiFeedbackSink": "ailib.telemetry.feedback",
    "set_feedback_sink": "ailib.telemetry.feedback",
    "get_feedback_sink": "ailib.telemetry.feedback",
    "report_feedback": "ailib.telemetry.feedback",
    "report_feedback_sync": "ailib.telemetry.feedback",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ailib.telemetry' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return __all__
