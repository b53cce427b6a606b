"""Basic use: one chat completion, async (seed "Basic Usage")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("openai")


async def main() -> None:
    client = await AsyncAiClient.create("openai/gpt-4o")
    response = await client.chat().user("Hello! What's 2+2?").execute()
    print(response.content)
    print(f"finish={response.finish_reason} tokens={response.usage.total_tokens}")
    await client.close()


asyncio.run(main())
