"""A stream cut inside a tool call never yields made-up arguments (issue 6 item 4, review).

Against the loopback mock server, every dialect, sync and async: the stream is cut after
1, 2, ... events. Whatever call the caller can see (a ``ToolCallEnded`` event, or the
partial response on the error) has either the whole arguments or ``arguments`` None with
the reason; a call cut before any argument arrived used to come out as ``{}``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ToolCall, ToolDefinition
from ailib.errors import AiLibError
from ailib.testing import MockServer, Scenario

PROVIDERS = {
    "openai": ("gpt-4o", "openai"),
    "anthropic": ("claude-sonnet-4-5", "anthropic"),
    "cohere": ("command-a-03-2025", "cohere"),
    "gemini": ("gemini-2.5-flash", "gemini"),
    "openai-responses": ("gpt-5", "responses"),
    "bedrock": ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
    "ollama": ("llama3.1", "ollama"),
}
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
ARGS = {"city": "Paris, France"}
CUTS = range(1, 9)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def _options(server: MockServer, provider: str) -> dict[str, Any]:
    model, dialect = PROVIDERS[provider]
    key = None if provider in ("bedrock", "ollama") else "sk-test-cut"
    return {
        "model": f"{provider}/{model}",
        "api_key": key,
        "base_url": server.base_url(dialect),
        "max_retries": 0,
    }


def _check(calls: list[ToolCall]) -> None:
    for call in calls:
        if call.arguments is None:
            assert call.arguments_error
        else:
            assert call.arguments == ARGS, (call.arguments, call.raw_arguments)


def _partial_calls(exc: AiLibError) -> list[ToolCall]:
    partial = getattr(exc, "partial", None)
    return list(partial.tool_calls) if partial is not None else []


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_cut_stream_never_makes_up_arguments_sync(provider: str, mock_server: MockServer) -> None:
    with AiClient.create(**_options(mock_server, provider)) as client:
        for cut in CUTS:
            mock_server.push(Scenario(tool_calls=[("get_weather", ARGS)], cut_after=cut))
            calls: list[ToolCall] = []
            try:
                with client.chat().user("weather?").tools([WEATHER]).stream() as stream:
                    calls += [
                        e.as_tool_call_ended.tool_call for e in stream if e.is_tool_call_ended
                    ]
                    calls += stream.final_response().tool_calls
            except AiLibError as exc:
                calls += _partial_calls(exc)
            _check(calls)


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_cut_stream_never_makes_up_arguments_async(
    provider: str, mock_server: MockServer
) -> None:
    async with await AsyncAiClient.create(**_options(mock_server, provider)) as client:
        for cut in CUTS:
            mock_server.push(Scenario(tool_calls=[("get_weather", ARGS)], cut_after=cut))
            calls: list[ToolCall] = []
            try:
                async with client.chat().user("weather?").tools([WEATHER]).stream() as stream:
                    async for event in stream:
                        if event.is_tool_call_ended:
                            calls.append(event.as_tool_call_ended.tool_call)
                    calls += (await stream.final_response()).tool_calls
            except AiLibError as exc:
                calls += _partial_calls(exc)
            _check(calls)
