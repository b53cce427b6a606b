"""The local mock server with scripted faults, async: a provider that hangs, a breaker
that opens, and what the server recorded (README "Local mock provider", "Faults
survived").

Always local: real providers cannot be told to fail on cue.
"""

import asyncio

from ailib import AiLibError, AsyncAiClient
from ailib.resilience import CircuitBreakerConfig, RetryConfig
from ailib.testing import MockServer, Scenario


async def main(server: MockServer) -> None:
    client = await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .base_url(server.base_url("openai"))
        .api_key("test-key")
        .timeout(2)  # seconds per attempt
        .with_retry(RetryConfig(max_retries=0))
        .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=2, cooldown_seconds=30))
        .build()
    )
    async with client:
        server.push(Scenario(hang=True))  # never answers
        server.push(Scenario(status=500))
        for _ in range(3):  # a timeout, a 500, then the open breaker refuses at once
            try:
                await client.chat().user("Hello").execute()
            except AiLibError as err:
                print(f"{err.code} {type(err).__name__}")
        print(f"breaker: {client.circuit_state}")

    sent = server.requests[-1].json()
    print(f"last request body: model={sent['model']} messages={sent['messages']}")


with MockServer() as mock:
    print(f"using the local mock server at {mock.url} (scripted faults)")
    asyncio.run(main(mock))
