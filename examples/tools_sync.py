"""Tool calling, then the tool's result back for the final answer (seed "Tool Calling";
README "Tools, multi-turn")."""

from _target import provider_or_mock

from ailib import AiClient, Message, ToolDefinition

provider_or_mock("openai")

weather_tool = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a location",
    parameters={
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    },
)


def get_weather(location: str, unit: str = "celsius") -> dict[str, object]:
    return {"location": location, "temperature": 21, "unit": unit}


with AiClient.create("openai/gpt-4o") as client:
    question = Message.user("What's the weather in Tokyo?")
    response = client.chat().messages([question]).tools([weather_tool]).execute()

    history = [question, response.to_message()]
    for tool_call in response.tool_calls:
        print(f"Call {tool_call.function_name}: {tool_call.arguments}")
        if tool_call.arguments is None:  # arguments that were not a JSON object
            raise SystemExit(f"bad arguments: {tool_call.arguments_error}")
        history.append(Message.tool(tool_call.id, get_weather(**tool_call.arguments)))

    final = client.chat().messages(history).tools([weather_tool]).execute()
    print(final.content)
