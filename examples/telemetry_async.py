"""Metrics, logs and traces around async calls (seed "Metrics and Telemetry"; README
"Telemetry")."""

import asyncio
import logging

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.telemetry import HealthChecker, MetricsCollector, Tracer, get_logger

provider_or_mock("openai")
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
logger = get_logger("my_app")


async def main() -> None:
    collector = MetricsCollector()  # thread-safe, may serve many clients
    client = await (
        AsyncAiClient.builder().model("openai/gpt-4o").with_telemetry(metrics=collector).build()
    )
    tracer = Tracer("my_service")
    async with client:
        with tracer.span("answer_questions") as span:
            span.set_attribute("model", "gpt-4o")
            logger.info("Request started", model="gpt-4o")
            await asyncio.gather(*(client.chat().user(q).execute() for q in ("One?", "Two?")))
        checker = HealthChecker.for_client(client)
        health = checker.check("openai")
        print(f"health: {health.status} {list(health.reasons)}")

    snapshot = collector.get_snapshot()
    print(f"Total requests: {snapshot.total_requests}")
    print(f"P99 latency: {snapshot.latency_p99_ms:.2f}ms")
    prometheus = collector.to_prometheus()
    print(
        "\n".join(line for line in prometheus.splitlines() if line.startswith("ailib_tokens_total"))
    )


asyncio.run(main())
