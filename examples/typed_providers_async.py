"""Typed provider modules, async: AsyncOpenAI, AsyncAnthropic... (README "Typed provider
modules")."""

import asyncio

from _target import base_url, provider_or_mock

from ailib import Message
from ailib.providers.anthropic import AsyncAnthropic

provider_or_mock("anthropic")


async def main() -> None:
    # typed classes are compiled from the built-in manifest: base_url=None is Anthropic's
    async with AsyncAnthropic(base_url=base_url("anthropic")) as provider:
        resp = await provider.chat(
            model="claude-sonnet-4-5", messages=[Message.user("Hi")], max_tokens=64, temperature=0.2
        )
        print(resp.content)

        stream = await provider.chat(
            model="claude-sonnet-4-5", messages=[Message.user("Hi again")], stream=True
        )
        async with stream:
            async for event in stream:
                if event.is_content_delta:
                    print(event.as_content_delta.content, end="")
        print()


asyncio.run(main())
