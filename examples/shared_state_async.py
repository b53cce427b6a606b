"""Shared state, async: async and sync clients of one target share a circuit breaker
through one store (README "Shared state across processes")."""

import asyncio
import os

from _target import provider_or_mock

from ailib import AiClient, AiLibError, AsyncAiClient
from ailib.resilience import CircuitBreakerConfig, MemoryStore, RetryConfig

provider_or_mock("openai")

# AI_LIB_STATE_URL="redis://127.0.0.1:6379/0" shares it across processes and hosts
store = os.environ.get("AI_LIB_STATE_URL") or MemoryStore()
print(f"state store: {'memory' if isinstance(store, MemoryStore) else 'from AI_LIB_STATE_URL'}")
DOWN = "http://127.0.0.1:9/v1"  # nothing listens here: every call fails to connect
NO_RETRY = RetryConfig(max_retries=0)
BREAKER = CircuitBreakerConfig(failure_threshold=2, cooldown_seconds=30)


async def main() -> None:
    async_client = await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .base_url(DOWN)
        .with_state_store(store)
        .with_retry(NO_RETRY)
        .with_circuit_breaker(BREAKER)
        .build()
    )
    sync_client = (
        AiClient.builder()
        .model("openai/gpt-4o")
        .base_url(DOWN)
        .with_state_store(store)
        .with_retry(NO_RETRY)
        .with_circuit_breaker(BREAKER)
        .build()
    )
    async with async_client:
        results = await asyncio.gather(
            *(async_client.chat().user("Hello").execute() for _ in range(2)),
            return_exceptions=True,
        )
        print("async calls:", [f"{e.code} {type(e).__name__}" for e in results])
    with sync_client:
        try:  # refused at once, nothing sent
            sync_client.chat().user("Hello").execute()
        except AiLibError as err:
            print(f"sync client: {err.code} {type(err).__name__}")
        print(f"breaker seen from the sync client: {sync_client.circuit_state}")


asyncio.run(main())
