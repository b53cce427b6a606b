"""Shared state: clients (or processes and hosts, with Redis) sharing one circuit breaker
per target (README "Shared state across processes")."""

import os

from _target import provider_or_mock

from ailib import AiClient, AiLibError
from ailib.resilience import CircuitBreakerConfig, MemoryStore, RetryConfig

provider_or_mock("openai")

# one store for every client; AI_LIB_STATE_URL="redis://127.0.0.1:6379/0" shares it across
# processes and hosts (pip install 'ailib[redis]')
store = os.environ.get("AI_LIB_STATE_URL") or MemoryStore()
print(f"state store: {'memory' if isinstance(store, MemoryStore) else 'from AI_LIB_STATE_URL'}")
DOWN = "http://127.0.0.1:9/v1"  # nothing listens here: every call fails to connect


def worker(base_url: str | None = None) -> AiClient:
    builder = AiClient.builder().model("openai/gpt-4o").with_state_store(store)
    if base_url:
        builder = builder.base_url(base_url)
    return (
        builder.with_retry(RetryConfig(max_retries=0))
        .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=2, cooldown_seconds=30))
        .build()
    )


with worker(DOWN) as worker_a, worker(DOWN) as worker_b, worker() as healthy:
    for _ in range(2):
        try:
            worker_a.chat().user("Hello").execute()
        except AiLibError as err:
            print(f"worker_a: {err.code} {type(err).__name__}")
    try:  # refused at once, nothing sent: the breaker opened by worker_a is shared
        worker_b.chat().user("Hello").execute()
    except AiLibError as err:
        print(f"worker_b: {err.code} {type(err).__name__}")
    print(f"breaker seen from worker_b: {worker_b.circuit_state}")
    # another target (the provider's own URL) has a breaker of its own
    print(f"healthy target: {healthy.chat().user('Hello').execute().content}")
