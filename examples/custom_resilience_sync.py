"""Custom resilience: your own retry, rate limit, breaker and in-flight settings
(seed "Custom Resilience Configuration")."""

from _target import provider_or_mock

from ailib import AiClient
from ailib.resilience import CircuitBreakerConfig, RateLimiterConfig, RetryConfig

provider_or_mock("openai")

client = (
    AiClient.builder()
    .model("openai/gpt-4o")
    .with_retry(RetryConfig(max_retries=5, min_delay_ms=1000, max_delay_ms=30000))
    .with_rate_limit(RateLimiterConfig.from_rps(10))
    .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30))
    .max_inflight(20)
    .build()
)
with client:
    print(client.pipeline)
    print(client.chat().user("Hello").execute().content)
    print(f"Circuit state: {client.circuit_state}")
