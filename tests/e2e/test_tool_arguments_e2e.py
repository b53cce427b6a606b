"""Tool-call arguments that are not a JSON object are kept raw and marked, never made up.

Issue 6 item 4: every dialect, streamed and not, sync and async, against the mock server.
"""

from __future__ import annotations

from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ChatResponse, Message, ToolDefinition
from ailib.errors import InvalidRequestError
from ailib.testing import MockServer, RawArguments, Scenario

KEY = "sk-test-key-tool-args"
# provider -> (model, mock server dialect): seven wires, each streamed and not
PROVIDERS = {
    "openai": ("gpt-4o", "openai"),
    "anthropic": ("claude-sonnet-4-5", "anthropic"),
    "cohere": ("command-a-03-2025", "cohere"),
    "gemini": ("gemini-2.5-flash", "gemini"),
    "openai-responses": ("gpt-5", "responses"),
    "bedrock": ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
    "ollama": ("llama3.1", "ollama"),
}
# wires that carry arguments as text (the others carry a JSON object)
TEXT_WIRES = {"openai", "cohere", "openai-responses"}
# wires that carry arguments only as a JSON object, streamed or not: no raw text case
OBJECT_ONLY = {"gemini", "ollama"}


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    for name in ("AWS_SESSION_TOKEN", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)


WEATHER = ToolDefinition.from_function(
    name="get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)
# raw argument text -> (expected arguments, words expected in arguments_error)
CASES: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    '{"city": "Par': (None, "not valid JSON"),
    "[1,2]": (None, "an array"),
    '"Paris"': (None, "a string"),
    "": ({}, None),
    '{"city":"Paris"}': ({"city": "Paris"}, None),
}


def _providers_for(raw: str) -> list[str]:
    return [p for p in PROVIDERS if p not in OBJECT_ONLY or raw in ("", '{"city":"Paris"}')]


PARAMS = [(p, raw) for raw in CASES for p in _providers_for(raw)]
IDS = [f"{p}-{raw or 'empty'}" for p, raw in PARAMS]


def _scenario(raw: str) -> Scenario:
    args: Any = RawArguments(raw)
    if raw in ("", '{"city":"Paris"}'):
        args = {} if raw == "" else {"city": "Paris"}
    return Scenario(tool_calls=[("get_weather", args)])


def _check(resp: ChatResponse, raw: str) -> None:
    arguments, error = CASES[raw]
    [call] = resp.tool_calls
    assert call.function_name == "get_weather"
    assert call.arguments == arguments
    if error is None:
        assert call.arguments_error is None
    else:
        assert call.arguments is None
        assert call.raw_arguments == raw  # exactly what arrived
        assert call.arguments_error is not None and error in call.arguments_error


def _options(server: MockServer, provider: str) -> dict[str, Any]:
    model, dialect = PROVIDERS[provider]
    key = None if provider in ("bedrock", "ollama") else KEY
    return {"model": f"{provider}/{model}", "api_key": key, "base_url": server.base_url(dialect)}


def _client(server: MockServer, provider: str) -> AiClient:
    return AiClient.create(**_options(server, provider))


async def _aclient(server: MockServer, provider: str) -> AsyncAiClient:
    return await AsyncAiClient.create(**_options(server, provider))


@pytest.mark.parametrize(("provider", "raw"), PARAMS, ids=IDS)
def test_execute_sync(provider: str, raw: str, mock_server: MockServer) -> None:
    mock_server.push(_scenario(raw))
    with _client(mock_server, provider) as client:
        _check(client.chat().user("weather?").tools([WEATHER]).execute(), raw)


@pytest.mark.parametrize(("provider", "raw"), PARAMS, ids=IDS)
def test_stream_sync(provider: str, raw: str, mock_server: MockServer) -> None:
    mock_server.push(_scenario(raw))
    with (
        _client(mock_server, provider) as client,
        client.chat().user("weather?").tools([WEATHER]).stream() as stream,
    ):
        ended = [e.as_tool_call_ended.tool_call for e in stream if e.is_tool_call_ended]
    _check(stream.final_response(), raw)
    assert ended == stream.final_response().tool_calls


@pytest.mark.parametrize(("provider", "raw"), PARAMS, ids=IDS)
async def test_execute_async(provider: str, raw: str, mock_server: MockServer) -> None:
    mock_server.push(_scenario(raw))
    async with await _aclient(mock_server, provider) as client:
        _check(await client.chat().user("weather?").tools([WEATHER]).execute(), raw)


@pytest.mark.parametrize(("provider", "raw"), PARAMS, ids=IDS)
async def test_stream_async(provider: str, raw: str, mock_server: MockServer) -> None:
    mock_server.push(_scenario(raw))
    async with (
        await _aclient(mock_server, provider) as client,
        client.chat().user("weather?").tools([WEATHER]).stream() as stream,
    ):
        ended = [e.as_tool_call_ended.tool_call async for e in stream if e.is_tool_call_ended]
    final = await stream.final_response()
    _check(final, raw)
    assert ended == final.tool_calls


# ---- the next turn sends back what was received -------------------------------------------

BAD = ['{"city": "Par', "[1,2]"]
REPLAYED = ["openai", "anthropic", "cohere", "openai-responses", "bedrock"]


def _history(resp: ChatResponse) -> list[Message]:
    call = resp.tool_calls[0]
    return [
        Message.user("weather?"),
        resp.to_message(),
        Message.tool(call.id, {"error": call.arguments_error}),
    ]


def _sent_back(server: MockServer, provider: str) -> Any:
    body = server.requests[-1].json()
    if provider == "anthropic":
        return body["messages"][1]["content"][-1]["input"]
    if provider == "bedrock":
        return body["messages"][1]["content"][-1]["toolUse"]["input"]
    if provider == "openai-responses":
        return body["input"][1]["arguments"]
    return body["messages"][1]["tool_calls"][0]["function"]["arguments"]


def _expect_replay(provider: str, raw: str) -> Any:
    if provider in TEXT_WIRES:
        return raw  # the exact text, unchanged
    return [1, 2]  # an object wire carries the decoded value unchanged


@pytest.mark.parametrize("raw", BAD)
@pytest.mark.parametrize("provider", REPLAYED)
def test_next_turn_sends_raw_arguments_sync(
    provider: str, raw: str, mock_server: MockServer
) -> None:
    mock_server.push(_scenario(raw), Scenario(text="ok"))
    with _client(mock_server, provider) as client:
        resp = client.chat().user("weather?").tools([WEATHER]).execute()
        follow = client.chat().messages(_history(resp)).tools([WEATHER])
        if provider not in TEXT_WIRES and raw.startswith("{"):
            with pytest.raises(InvalidRequestError, match="not valid JSON"):
                follow.execute()
            assert len(mock_server.requests) == 1  # refused before sending
            return
        assert follow.execute().content == "ok"
    assert _sent_back(mock_server, provider) == _expect_replay(provider, raw)


@pytest.mark.parametrize("raw", BAD)
@pytest.mark.parametrize("provider", REPLAYED)
async def test_next_turn_sends_raw_arguments_async(
    provider: str, raw: str, mock_server: MockServer
) -> None:
    mock_server.push(_scenario(raw), Scenario(text="ok"))
    async with await _aclient(mock_server, provider) as client:
        resp = await client.chat().user("weather?").tools([WEATHER]).execute()
        follow = client.chat().messages(_history(resp)).tools([WEATHER])
        if provider not in TEXT_WIRES and raw.startswith("{"):
            with pytest.raises(InvalidRequestError, match="not valid JSON"):
                await follow.execute()
            assert len(mock_server.requests) == 1
            return
        assert (await follow.execute()).content == "ok"
    assert _sent_back(mock_server, provider) == _expect_replay(provider, raw)


def test_a_marked_call_cannot_run_a_tool() -> None:
    from ailib import ToolCall

    call = ToolCall.from_raw("c1", "get_weather", '{"city": "Par')
    assert call.arguments is None
    with pytest.raises(TypeError):
        dict(**call.arguments)  # type: ignore[arg-type]
