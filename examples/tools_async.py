"""Tool calling from a typed function, then the result back, async (seed "Tool Calling";
README "Tools, multi-turn")."""

import asyncio
from typing import Literal

from _target import provider_or_mock

from ailib import AsyncAiClient, Message, ToolDefinition

provider_or_mock("openai")


def get_weather(location: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Get current weather for a location.

    Args:
        location: City name.
        unit: Temperature unit.
    """
    return {"location": location, "temperature": 21, "unit": unit}


weather_tool = ToolDefinition.from_function(get_weather)  # schema from the signature


async def main() -> None:
    async with await AsyncAiClient.create("openai/gpt-4o") as client:
        question = Message.user("What's the weather in Tokyo?")
        response = await client.chat().messages([question]).tools([weather_tool]).execute()

        history = [question, response.to_message()]
        for call in response.tool_calls:
            print(f"Call {call.function_name}: {call.arguments}")
            history.append(Message.tool(call.id, get_weather(**(call.arguments or {}))))

        final = await client.chat().messages(history).tools([weather_tool]).execute()
        print(final.content)


asyncio.run(main())
