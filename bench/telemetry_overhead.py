"""What watching costs: per-call time with telemetry on against the same call without.

Usage::

    python bench/telemetry_overhead.py            # ~20 s
    python bench/telemetry_overhead.py --quick

Three sync clients call the loopback mock server in interleaved rounds (so machine load
hits each alike): plain; metrics (a MetricsCollector); metrics + OpenTelemetry spans
and GenAI metrics (SDK providers, spans exported to an exporter that drops them); each
makes plain calls and streams. Prints the median per-call time of each and the overhead against
plain, in wall time and in CPU time of the calling thread (the client's own work, which
load from other processes does not inflate). Only 127.0.0.1 is contacted; the exit
status is always 0 (a measurement).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from ailib import AiClient
from ailib.telemetry import MetricsCollector
from ailib.testing import MockServer


def otel_providers() -> tuple[Any, Any]:
    """SDK tracer and meter providers whose spans go nowhere (export cost ~0)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(Drop()))
    return tracer_provider, MeterProvider(metric_readers=[InMemoryMetricReader()])


def clients(server: MockServer) -> dict[str, AiClient]:
    def base() -> Any:
        return (
            AiClient.builder()
            .model("openai/gpt-4o")
            .api_key("sk-bench")
            .base_url(server.base_url("openai"))
        )

    tracer_provider, meter_provider = otel_providers()
    return {
        "plain": base().build(),
        "metrics": base().with_telemetry(metrics=MetricsCollector()).build(),
        "metrics+traces": base()
        .with_telemetry(
            metrics=MetricsCollector(),
            tracing=True,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        .build(),
    }


def per_call_us(call: Callable[[], Any], n: int) -> tuple[float, float]:
    """Wall time and CPU time of this thread (the client's side only: the mock server
    runs in another thread) per call, in microseconds."""
    start, cpu = time.perf_counter_ns(), time.thread_time_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n / 1000.0, (time.thread_time_ns() - cpu) / n / 1000.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds (smoke run)")
    args = parser.parse_args(argv)
    rounds, per_round = (5, 40) if args.quick else (15, 100)
    logging.getLogger("ailib.telemetry").setLevel(logging.WARNING)  # records made, not shown
    with MockServer() as server:
        made = clients(server)

        def chat(client: AiClient) -> Callable[[], Any]:
            return lambda: client.chat().user("Hello there").execute()

        def stream(client: AiClient) -> Callable[[], Any]:
            def run() -> None:
                with client.chat().user("one two three four five six").stream() as s:
                    for _ in s:
                        pass

            return run

        results: dict[str, list[tuple[float, float]]] = {}
        for kind, make in (("chat", chat), ("stream", stream)):
            for client in made.values():
                per_call_us(make(client), 20)  # warm up
            for _ in range(rounds):
                for name, client in made.items():
                    results.setdefault(f"{kind} {name}", []).append(
                        per_call_us(make(client), per_round)
                    )
        for client in made.values():
            client.close()
    print(f"{'call':<24}{'wall us':>10}{'overhead':>10}{'client CPU us':>16}{'overhead':>10}")
    for key, values in results.items():
        kind = key.split()[0]
        wall = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        plain = results[f"{kind} plain"]
        wall_extra = wall - statistics.median(v[0] for v in plain)
        cpu_extra = cpu - statistics.median(v[1] for v in plain)
        shown = ("", "") if key.endswith("plain") else (f"{wall_extra:+.0f}", f"{cpu_extra:+.0f}")
        print(f"{key:<24}{wall:>10.0f}{shown[0]:>10}{cpu:>16.0f}{shown[1]:>10}")


if __name__ == "__main__":
    main()
