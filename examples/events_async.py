"""Stream events, async: dispatch on the event classes (README "Events")."""

import asyncio

from _target import provider_or_mock

from ailib import AsyncAiClient
from ailib.types.events import ContentDelta, StreamEnd, ThinkingDelta, UsageEvent

provider_or_mock("anthropic")


async def main() -> None:
    async with await AsyncAiClient.create("anthropic/claude-sonnet-4-5") as client:
        request = client.chat().user("Why is the sky blue?").reasoning("low")
        async with request.stream() as stream:
            async for event in stream:
                match event:
                    case ThinkingDelta(thinking=text):
                        print(f"[thinking] {text}")
                    case ContentDelta(content=text):
                        print(f"[content] {text}")
                    case UsageEvent(usage=usage):
                        print(f"[usage] {usage.input_tokens} in, {usage.output_tokens} out")
                    case StreamEnd(finish_reason=reason):
                        print(f"[end] {reason}")
        print(f"final: {(await stream.final_response()).content}")


asyncio.run(main())
