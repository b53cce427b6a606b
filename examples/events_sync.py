"""Stream events: content, tool calls as they form, usage and the end (README "Events")."""

from _target import provider_or_mock

from ailib import AiClient, ToolDefinition

provider_or_mock("openai")


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return "sunny"


with AiClient.create("openai/gpt-4o") as client:
    request = (
        client.chat().user("Weather in Paris?").tools([ToolDefinition.from_function(get_weather)])
    )
    with request.stream() as stream:
        for event in stream:
            if event.is_content_delta:
                print(f"content: {event.as_content_delta.content!r}")
            elif event.is_thinking_delta:
                print(f"thinking: {event.as_thinking_delta.thinking!r}")
            elif event.is_tool_call_started:
                print(f"tool call started: {event.as_tool_call_started.function_name}")
            elif event.is_tool_call_delta:
                print(f"  arguments so far: {event.as_tool_call_delta.partial_arguments}")
            elif event.is_tool_call_ended:
                call = event.as_tool_call_ended.tool_call
                print(f"tool call ended: {call.function_name}({call.arguments})")
            elif event.is_usage:
                print(f"usage: {event.as_usage.usage.total_tokens} tokens")
            elif event.is_stream_end:
                print(f"end: {event.as_stream_end.finish_reason}")
