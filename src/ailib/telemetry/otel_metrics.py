"""The GenAI client metrics on an OpenTelemetry meter (optional extra ``ailib[otel]``).

``gen_ai.client.operation.duration`` and ``gen_ai.client.token.usage`` for every call,
``gen_ai.client.operation.time_to_first_chunk`` and ``...time_per_output_chunk`` for
streams, with the conventions' recommended bucket boundaries.

Example::

    instruments = GenAiInstruments(meter_provider)   # None: the global meter provider
    instruments.duration.record(0.42, {"gen_ai.operation.name": "chat"})
"""

from __future__ import annotations

import importlib
from typing import Any

from ailib.telemetry import genai
from ailib.telemetry.tracing import require_otel


class GenAiInstruments:
    """The GenAI client metrics on an OpenTelemetry meter."""

    def __init__(self, meter_provider: Any = None) -> None:
        require_otel("with_telemetry(otel_metrics=True)")
        metrics_api = importlib.import_module("opentelemetry.metrics")
        import ailib

        meter = metrics_api.get_meter("ailib", ailib.__version__, meter_provider)
        self.duration = meter.create_histogram(
            genai.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(genai.DURATION_BUCKETS),
        )
        self.tokens = meter.create_histogram(
            genai.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(genai.TOKEN_BUCKETS),
        )
        self.first_chunk = meter.create_histogram(
            genai.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a stream.",
            explicit_bucket_boundaries_advisory=list(genai.DURATION_BUCKETS),
        )
        self.per_chunk = meter.create_histogram(
            genai.METRIC_TIME_PER_OUTPUT_CHUNK,
            unit="s",
            description="Time per output chunk after the first one.",
        )
