"""The client as an async context manager: closed on exit (seed "Context Manager")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient

provider_or_mock("openai")


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        response = await client.chat().user("Hello!").execute()
        print(response.content)
    # client automatically closed
    print("closed")


asyncio.run(main())
