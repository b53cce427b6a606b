"""Production-ready: retry, breaker, in-flight cap and fallbacks, async
(seed "Production-Ready Configuration"; README "Production: one request pipeline")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("openai", "anthropic")


async def main() -> None:
    client = await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .production_ready()  # retry, breaker, in-flight cap (+ AI_LIB_RPS)
        .with_fallbacks(["anthropic/claude-sonnet-4-5"])
        .build()
    )
    async with client:
        print(client.pipeline)
        replies = await asyncio.gather(
            *(client.chat().user(f"Hi #{i}").execute() for i in range(3))
        )
        for response in replies:
            print(response.content, "| served by", response.served_by)

        print(f"Circuit state: {client.circuit_state}")
        print(f"In-flight requests: {client.current_inflight}")
        stats = client.get_resilience_stats()
        print(f"calls={stats.calls} successes={stats.successes} retries={stats.retries}")


asyncio.run(main())
