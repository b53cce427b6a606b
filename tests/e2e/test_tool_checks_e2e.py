"""End-to-end (issue 6, item 6): invalid tool definitions and a ``tool_choice`` naming a
missing tool are refused before anything reaches the loopback server, for every dialect,
sync and async; a tool built by ``from_function`` reaches the wire with its full schema."""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ToolDefinition
from ailib.errors import ToolDefinitionError
from ailib.testing import MockServer

KEY = "sk-tool-check-key-123"
# provider id -> (model, the mock server's base-URL key)
PROVIDERS = {
    "openai": ("gpt-4o", "openai"),
    "anthropic": ("claude-sonnet-4-5", "anthropic"),
    "gemini": ("gemini-2.5-flash", "gemini"),
    "mock": ("echo", "mock"),
    "openai-responses": ("gpt-5", "responses"),
    "cohere": ("command-a-03-2025", "cohere"),
    "ollama": ("llama3.1", "ollama"),
    "bedrock": ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
}
GOOD = ToolDefinition(
    "get_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}}
)
BROKEN_SCHEMA = ToolDefinition(
    "get_time", "", {"type": "object", "properties": {"tz": {"type": "strng"}}}
)
NOT_AN_OBJECT = ToolDefinition("get_time", "", {"type": "array"})
# (tools, tool_choice or None, what the error says): refused by every provider
COMMON = {
    "schema": ([GOOD, BROKEN_SCHEMA], None, r"'get_time': .*\$\.properties\.tz\.type"),
    "object": ([NOT_AN_OBJECT], None, "object schema"),
    "duplicate": ([GOOD, GOOD], None, "defined twice"),
    "choice": ([GOOD], "get_time", "tool_choice names 'get_time'"),
}
# refused by the providers whose manifest declares a tool name rule
NAMED = {"openai", "anthropic", "gemini", "mock", "openai-responses", "bedrock"}
BAD_NAME = ToolDefinition("get weather!", "", {"type": "object", "properties": {}})


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


def _args(provider: str, server: MockServer) -> tuple[str, dict[str, Any]]:
    model, route = PROVIDERS[provider]
    kw: dict[str, Any] = {"base_url": server.base_url(route), "max_retries": 0}
    if provider != "bedrock":
        kw["api_key"] = KEY
    return f"{provider}/{model}", kw


def _cases(provider: str) -> list[tuple[str, list[ToolDefinition], Any, str]]:
    cases = [(k, tools, choice, says) for k, (tools, choice, says) in COMMON.items()]
    if provider in NAMED:
        cases.append(("name", [BAD_NAME], None, "'get weather!' does not follow"))
    return cases


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_invalid_tools_never_reach_the_server_sync(provider: str, mock_server: MockServer) -> None:
    name, kw = _args(provider, mock_server)
    with AiClient.create(name, **kw) as client:
        for case, tools, choice, says in _cases(provider):
            if provider == "ollama" and choice is not None:
                continue  # Ollama declares no tool_choice parameter (refused otherwise)
            for stream in (False, True):
                builder = client.chat().user("hi").tools(tools)
                if choice is not None:
                    builder = builder.tool_choice(choice)
                with pytest.raises(ToolDefinitionError, match=says) as info:
                    if stream:
                        with builder.stream() as events:
                            list(events)
                    else:
                        builder.execute()
                assert info.value.code == "E1001", case
        assert mock_server.requests == []
        client.chat().user("hi").tools([GOOD]).execute()  # a valid tool does reach it
    assert len(mock_server.requests) == 1


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
async def test_invalid_tools_never_reach_the_server_async(
    provider: str, mock_server: MockServer
) -> None:
    name, kw = _args(provider, mock_server)
    client = await AsyncAiClient.create(name, **kw)
    async with client:
        for case, tools, choice, says in _cases(provider):
            if provider == "ollama" and choice is not None:
                continue
            for stream in (False, True):
                builder = client.chat().user("hi").tools(tools)
                if choice is not None:
                    builder = builder.tool_choice(choice)
                with pytest.raises(ToolDefinitionError, match=says) as info:
                    if stream:
                        async with builder.stream() as events:
                            async for _ in events:
                                pass
                    else:
                        await builder.execute()
                assert info.value.code == "E1001", case
        assert mock_server.requests == []
        await client.chat().user("hi").tools([GOOD]).execute()
    assert len(mock_server.requests) == 1


# ---- a from_function tool on the wire -----------------------------------------------------


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@dataclasses.dataclass
class Place:
    city: str
    country: str = ""


def forecast(place: Place, days: tuple[int, int], unit: Unit, *notes: str, **extra: Any) -> str:
    """Forecast for a place.

    Args:
        place: Where.
        days: First and last day.
    """
    return ""


def _tool() -> ToolDefinition:  # built in the tests: old code raised on the partial
    return ToolDefinition.from_function(functools.partial(forecast, unit=Unit.C))


WANT = {
    "type": "object",
    "properties": {
        "place": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
            "required": ["city"],
            "description": "Where.",
        },
        "days": {
            "type": "array",
            "prefixItems": [{"type": "integer"}, {"type": "integer"}],
            "minItems": 2,
            "maxItems": 2,
            "description": "First and last day.",
        },
    },
    "required": ["place", "days"],
    "additionalProperties": True,
}


def _sent_schema(server: MockServer) -> tuple[str, str, Any]:
    body = server.requests[-1].json()
    tool = body["tools"][0]
    fn = tool.get("function", tool)
    return fn["name"], fn["description"], fn["parameters"]


def test_from_function_schema_reaches_the_wire_sync(mock_server: MockServer) -> None:
    name, kw = _args("openai", mock_server)
    with AiClient.create(name, **kw) as client:
        client.chat().user("hi").tools([_tool()]).tool_choice("forecast").execute()
    assert _sent_schema(mock_server) == ("forecast", "Forecast for a place.", WANT)


async def test_from_function_schema_reaches_the_wire_async(mock_server: MockServer) -> None:
    name, kw = _args("openai", mock_server)
    async with await AsyncAiClient.create(name, **kw) as client:
        await client.chat().user("hi").tools([_tool()]).tool_choice("forecast").execute()
    assert _sent_schema(mock_server) == ("forecast", "Forecast for a place.", WANT)
