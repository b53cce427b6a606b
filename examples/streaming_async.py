"""Streaming: print the answer as it arrives, async (seed "Streaming")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("anthropic")


async def stream_example() -> None:
    client = await AsyncAiClient.create("anthropic/claude-sonnet-4-5")

    async for event in (
        client.chat().system("You are a helpful assistant.").user("Tell me a short story.").stream()
    ):
        if event.is_content_delta:
            print(event.as_content_delta.content, end="", flush=True)

    print()  # newline at end
    await client.close()


asyncio.run(stream_example())
