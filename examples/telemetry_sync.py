"""Metrics, logs and traces (seed "Metrics and Telemetry"; README "Telemetry")."""

import logging

from _target import provider_or_mock

from ailib import AiClient
from ailib.telemetry import HealthChecker, MetricLabels, MetricsCollector, Tracer, get_logger

provider_or_mock("openai")
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")

# structured logging: your own records get the same shape as ailib's
logger = get_logger("my_app")
logger.info("Request started", model="gpt-4o", tokens=100)

# metrics collection by hand, as in the seed
collector = MetricsCollector()
labels = MetricLabels(provider="openai", model="gpt-4o")
collector.record_request(labels, latency=0.5, status="success", tokens_in=100, tokens_out=50)

# ... and from every call of a client (tracing=True also emits OpenTelemetry spans)
client = AiClient.builder().model("openai/gpt-4o").with_telemetry(metrics=collector).build()
with client:
    client.chat().user("Hello").execute()
    with client.chat().user("Stream it").stream() as stream:
        for _ in stream:
            pass
    health = HealthChecker.for_client(client).check("openai")
    print(f"health: {health.status} {list(health.reasons)}")

snapshot = collector.get_snapshot()
print(f"Total requests: {snapshot.total_requests}")
print(f"P99 latency: {snapshot.latency_p99_ms:.2f}ms")
prometheus = collector.to_prometheus()
print(
    "\n".join(line for line in prometheus.splitlines() if line.startswith("ailib_requests_total"))
)

# distributed tracing (does nothing, cheaply, without OpenTelemetry installed)
tracer = Tracer("my_service")
with tracer.span("api_call") as span:
    span.set_attribute("model", "gpt-4o")
print("traced")
