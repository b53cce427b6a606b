"""End-to-end: the generated ``OpenAIResponses`` / ``AsyncOpenAIResponses`` (and the
DeepSeek overlay) against the mock server's Responses plugin, sync and async twins.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, Message, ToolDefinition
from ailib.dialects.openai_responses import encode_input
from ailib.errors import RemoteError, StreamInterruptedError
from ailib.providers.deepseek_responses import AsyncDeepSeekResponses, DeepSeekResponses
from ailib.providers.openai_responses import AsyncOpenAIResponses, OpenAIResponses
from ailib.testing import MockServer, Scenario
from ailib.types.events import StreamEnd, StreamEvent
from ailib.types.response import ChatResponse

KEY = "sk-responses-test-key"
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


def _sync(server: MockServer, **kw: Any) -> OpenAIResponses:
    return OpenAIResponses(api_key=KEY, base_url=server.base_url("responses"), **kw)


def _async(server: MockServer, **kw: Any) -> AsyncOpenAIResponses:
    return AsyncOpenAIResponses(api_key=KEY, base_url=server.base_url("responses"), **kw)


def _body(server: MockServer, n: int = -1) -> Any:
    return server.requests[n].json()


# ---- plain chat ---------------------------------------------------------------------------

GREETING = [Message.system("Be brief."), Message.user("Hello")]


def _check_chat(resp: ChatResponse, server: MockServer) -> None:
    assert resp.content == "echo: Hello"
    assert (resp.finish_reason, resp.raw_finish_reason) == ("stop", "completed")
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.id and resp.id.startswith("resp_") and resp.model == "gpt-5"
    assert resp.request_id and resp.request_id.startswith("req_")
    req = server.requests[-1]
    assert (req.path, req.dialect) == ("/v1/responses", "responses")
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.json() == {
        "model": "gpt-5",
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": "Hello"}],
        "temperature": 0.2,
        "max_output_tokens": 64,
        "store": False,
    }


def test_chat_sync(mock_server: MockServer) -> None:
    with _sync(mock_server) as provider:
        resp = provider.chat(model="gpt-5", messages=GREETING, temperature=0.2, max_tokens=64)
    _check_chat(resp, mock_server)


async def test_chat_async(mock_server: MockServer) -> None:
    async with _async(mock_server) as provider:
        resp = await provider.chat(model="gpt-5", messages=GREETING, temperature=0.2, max_tokens=64)
    _check_chat(resp, mock_server)


def test_client_builder_sync(mock_server: MockServer) -> None:
    base = mock_server.base_url("responses")
    with AiClient.create("openai-responses/gpt-5", api_key=KEY, base_url=base) as client:
        resp = client.chat().system("Be brief.").user("Hello").temperature(0.2).max_tokens(64)
        _check_chat(resp.execute(), mock_server)


async def test_client_builder_async(mock_server: MockServer) -> None:
    base = mock_server.base_url("responses")
    async with await AsyncAiClient.create(
        "openai-responses/gpt-5", api_key=KEY, base_url=base
    ) as c:
        builder = c.chat().system("Be brief.").user("Hello").temperature(0.2).max_tokens(64)
        _check_chat(await builder.execute(), mock_server)


# ---- streaming ----------------------------------------------------------------------------

STORY = "once upon a time there was a parser"


def _check_stream(events: list[StreamEvent], final: ChatResponse, server: MockServer) -> None:
    parts = [e.as_content_delta.content for e in events if e.is_content_delta]
    assert len(parts) > 1 and "".join(parts) == STORY == final.content
    assert isinstance(events[-1], StreamEnd) and events[-1].finish_reason == "stop"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 9)
    assert final.id and final.id.startswith("resp_") and final.request_id
    assert _body(server)["stream"] is True


def test_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=STORY, usage=(7, 9)))
    with _sync(mock_server) as provider:
        with provider.chat(model="gpt-5", messages=[Message.user("Story")], stream=True) as s:
            events = list(s)
        final = s.final_response()
    _check_stream(events, final, mock_server)


async def test_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text=STORY, usage=(7, 9)))
    async with _async(mock_server) as provider:
        stream = await provider.chat(model="gpt-5", messages=[Message.user("Story")], stream=True)
        async with stream:
            events = [e async for e in stream]
        final = await stream.final_response()
    _check_stream(events, final, mock_server)


# ---- tools, multi-turn, with encrypted reasoning -----------------------------------------

ASK = [Message.user("Weather in Tokyo?")]
THOUGHT = "I should call the weather tool"


def _turns() -> tuple[Scenario, Scenario]:
    first = Scenario(tool_calls=[("get_weather", {"location": "Tokyo"})], reasoning=THOUGHT)
    return first, Scenario(text="It is 21C in Tokyo")


def _history(first: ChatResponse) -> list[Message]:
    assert first.finish_reason == "tool_calls" and first.reasoning == THOUGHT
    (call,) = first.tool_calls
    assert (call.function_name, call.arguments) == ("get_weather", {"location": "Tokyo"})
    (block,) = first.thinking_blocks
    assert block.text_value == THOUGHT and block.signature and block.signature.startswith("gAAAA")
    return [*ASK, first.to_message(), Message.tool(call.id, {"temp": 21})]


def _check_second_turn(first: ChatResponse, second: ChatResponse, server: MockServer) -> None:
    assert second.content == "It is 21C in Tokyo" and second.finish_reason == "stop"
    call, block = first.tool_calls[0], first.thinking_blocks[0]
    body = _body(server)
    assert body["input"] == [
        {"role": "user", "content": "Weather in Tokyo?"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": THOUGHT}],
         "encrypted_content": block.signature},
        {"type": "function_call", "call_id": call.id, "name": "get_weather",
         "arguments": '{"location":"Tokyo"}'},
        {"type": "function_call_output", "call_id": call.id, "output": '{"temp": 21}'},
    ]  # fmt: skip
    assert body["tools"] == [
        {"type": "function", "name": "get_weather", "description": WEATHER.description,
         "parameters": WEATHER.parameters, "strict": False},
    ]  # fmt: skip
    assert body["reasoning"] == {"effort": "low"}
    assert body["include"] == ["reasoning.encrypted_content"] and body["store"] is False


@pytest.mark.parametrize("stream", [False, True], ids=["execute", "stream"])
def test_tool_round_trip_sync(mock_server: MockServer, stream: bool) -> None:
    mock_server.push(*_turns())
    with _sync(mock_server) as p:
        if stream:
            with p.chat(model="gpt-5", messages=ASK, tools=[WEATHER], reasoning="low",
                        stream=True) as s:  # fmt: skip
                first = s.final_response()
        else:
            first = p.chat(model="gpt-5", messages=ASK, tools=[WEATHER], reasoning="low")
        second = p.chat(model="gpt-5", messages=_history(first), tools=[WEATHER], reasoning="low")
    _check_second_turn(first, second, mock_server)


@pytest.mark.parametrize("stream", [False, True], ids=["execute", "stream"])
async def test_tool_round_trip_async(mock_server: MockServer, stream: bool) -> None:
    mock_server.push(*_turns())
    async with _async(mock_server) as p:
        if stream:
            s = await p.chat(
                model="gpt-5", messages=ASK, tools=[WEATHER], reasoning="low", stream=True
            )
            first = await s.final_response()
        else:
            first = await p.chat(model="gpt-5", messages=ASK, tools=[WEATHER], reasoning="low")
        second = await p.chat(
            model="gpt-5", messages=_history(first), tools=[WEATHER], reasoning="low"
        )
    _check_second_turn(first, second, mock_server)


# ---- reasoning ----------------------------------------------------------------------------

REASONING = Scenario(reasoning="Six times seven", text="42", reasoning_tokens=5, usage=(3, 8))


def _check_reasoning(events: list[StreamEvent], final: ChatResponse, store: bool) -> None:
    kinds = [e.kind for e in events if e.kind in ("thinking_delta", "content_delta")]
    assert kinds[0] == "thinking_delta" and kinds[-1] == "content_delta"
    thinking = "".join(e.as_thinking_delta.thinking for e in events if e.is_thinking_delta)
    assert thinking == "Six times seven" == final.reasoning and final.content == "42"
    assert (final.usage.reasoning_tokens, final.usage.output_tokens) == (5, 8)
    (block,) = final.thinking_blocks
    # stored conversations get no encrypted reasoning, so there is nothing to replay
    assert (block.signature is None) is store
    _, items = encode_input([Message.user("6*7?"), final.to_message()])
    replayed = [i for i in items if i.get("type") == "reasoning"]
    summary = [{"type": "summary_text", "text": "Six times seven"}]
    sent = {"type": "reasoning", "encrypted_content": block.signature, "summary": summary}
    want = [] if store else [sent]
    assert replayed == want


@pytest.mark.parametrize("store", [False, True], ids=["stateless", "stored"])
def test_reasoning_stream_sync(mock_server: MockServer, store: bool) -> None:
    mock_server.push(REASONING)
    with _sync(mock_server) as p:
        stream = p.chat(model="o3", messages=[Message.user("6*7?")], reasoning={"effort": "high",
                        "summary": "auto"}, store=store, stream=True)  # fmt: skip
        events = list(stream)
        final = stream.final_response()
    _check_reasoning(events, final, store)
    body = _body(mock_server)
    assert body["reasoning"] == {"effort": "high", "summary": "auto"} and body["store"] is store
    assert ("include" in body) is not store


@pytest.mark.parametrize("store", [False, True], ids=["stateless", "stored"])
async def test_reasoning_stream_async(mock_server: MockServer, store: bool) -> None:
    mock_server.push(REASONING)
    async with _async(mock_server) as p:
        stream = await p.chat(model="o3", messages=[Message.user("6*7?")],
                              reasoning={"effort": "high", "summary": "auto"}, store=store,
                              stream=True)  # fmt: skip
        events = [e async for e in stream]
        final = await stream.final_response()
    _check_reasoning(events, final, store)
    assert ("include" in _body(mock_server)) is not store


# ---- errors, in-stream failures, truncation -----------------------------------------------

HTTP_ERRORS = [
    (400, "E1001", "invalid_request_error"),  # no code: the type is reported
    (401, "E1002", "invalid_api_key"),
    (404, "E1004", "model_not_found"),
    (429, "E2001", "rate_limit_exceeded"),
    (500, "E3001", "server_error"),
]


@pytest.mark.parametrize(("status", "code", "provider_code"), HTTP_ERRORS)
def test_http_errors_sync(
    mock_server: MockServer, status: int, code: str, provider_code: str
) -> None:
    mock_server.push(Scenario(status=status, retry_after=0.25))
    with _sync(mock_server, max_retries=0) as p, pytest.raises(RemoteError) as info:
        p.chat(model="gpt-5", messages=[Message.user("hi")])
    err = info.value
    assert (err.status, err.code, err.provider_code) == (status, code, provider_code)
    assert err.retry_after == 0.25 and err.request_id and err.provider == "openai-responses"
    assert len(mock_server.requests) == 1


@pytest.mark.parametrize(("status", "code", "provider_code"), HTTP_ERRORS)
async def test_http_errors_async(
    mock_server: MockServer, status: int, code: str, provider_code: str
) -> None:
    mock_server.push(Scenario(status=status))
    async with _async(mock_server, max_retries=0) as p:
        stream = await p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True)
        with pytest.raises(RemoteError) as info:
            _ = [e async for e in stream]  # a stream sends its request when first iterated
    err = info.value
    assert (err.status, err.code, err.provider_code) == (status, code, provider_code)


def test_retry_then_success_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0), Scenario(text="ok"))
    with _sync(mock_server, max_retries=2) as p:
        assert p.chat(model="gpt-5", messages=[Message.user("hi")]).content == "ok"
    assert len(mock_server.requests) == 2


async def test_retry_then_success_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=0), Scenario(text="ok"))
    async with _async(mock_server, max_retries=2) as p:
        assert (await p.chat(model="gpt-5", messages=[Message.user("hi")])).content == "ok"
    assert len(mock_server.requests) == 2


STREAM_FAILURES = [
    ({"message": "boom"}, "E3001", "server_error", "boom"),  # response.failed
    ({"type": "error", "code": "rate_limit_exceeded", "message": "slow"}, "E2001",
     "rate_limit_exceeded", "slow"),  # the bare `error` event
]  # fmt: skip


@pytest.mark.parametrize(("failure", "code", "provider_code", "message"), STREAM_FAILURES)
def test_stream_failure_sync(
    mock_server: MockServer, failure: dict[str, Any], code: str, provider_code: str, message: str
) -> None:
    mock_server.push(Scenario(text="partial answer", stream_error=failure))
    with _sync(mock_server) as p, pytest.raises(RemoteError) as info:
        list(p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True))
    assert (info.value.code, info.value.provider_code, info.value.message) == (
        code, provider_code, message,
    )  # fmt: skip


@pytest.mark.parametrize(("failure", "code", "provider_code", "message"), STREAM_FAILURES)
async def test_stream_failure_async(
    mock_server: MockServer, failure: dict[str, Any], code: str, provider_code: str, message: str
) -> None:
    mock_server.push(Scenario(text="partial answer", stream_error=failure))
    async with _async(mock_server) as p:
        stream = await p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True)
        with pytest.raises(RemoteError) as info:
            _ = [e async for e in stream]
    assert (info.value.code, info.value.message) == (code, message)


def test_cut_stream_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e f", cut_after=5))
    with _sync(mock_server) as p, pytest.raises(StreamInterruptedError) as info:
        list(p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True))
    assert info.value.partial is not None and info.value.partial.content == "a"


async def test_cut_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d e f", cut_after=5))
    async with _async(mock_server) as p:
        stream = await p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True)
        with pytest.raises(StreamInterruptedError) as info:
            _ = [e async for e in stream]
    assert info.value.partial is not None and info.value.partial.content == "a"


# ---- finish reasons, structured output, the DeepSeek overlay ------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["execute", "stream"])
def test_incomplete_sync(mock_server: MockServer, stream: bool) -> None:
    mock_server.push(Scenario(text="cut short", finish_reason="length"))
    with _sync(mock_server) as p:
        if stream:
            resp = p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True)
            resp = resp.final_response()
        else:
            resp = p.chat(model="gpt-5", messages=[Message.user("hi")])
    assert (resp.content, resp.finish_reason) == ("cut short", "length")
    assert resp.raw_finish_reason == "max_output_tokens"


@pytest.mark.parametrize("stream", [False, True], ids=["execute", "stream"])
async def test_incomplete_async(mock_server: MockServer, stream: bool) -> None:
    mock_server.push(Scenario(text="cut short", finish_reason="content_filter"))
    async with _async(mock_server) as p:
        if stream:
            s = await p.chat(model="gpt-5", messages=[Message.user("hi")], stream=True)
            resp = await s.final_response()
        else:
            resp = await p.chat(model="gpt-5", messages=[Message.user("hi")])
    assert (resp.finish_reason, resp.raw_finish_reason) == ("content_filter", "content_filter")


SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True},
}


def test_structured_output_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text='{"a": 1}'))
    with _sync(mock_server) as p:
        resp = p.chat(model="gpt-5", messages=[Message.user("json")], response_format=FORMAT,
                      verbosity="low")  # fmt: skip
    assert json.loads(resp.content) == {"a": 1}
    text = _body(mock_server)["text"]
    assert text == {"format": {"type": "json_schema", "name": "answer", "schema": SCHEMA,
                               "strict": True}, "verbosity": "low"}  # fmt: skip


async def test_structured_output_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text='{"a": 1}'))
    async with _async(mock_server) as p:
        fmt = {"type": "json_object"}
        resp = await p.chat(model="gpt-5", messages=[Message.user("json")], response_format=fmt)
    assert json.loads(resp.content) == {"a": 1}
    assert _body(mock_server)["text"] == {"format": {"type": "json_object"}}


DS_TURNS = (
    Scenario(tool_calls=[("get_weather", {"location": "Paris"})], reasoning="Use the tool"),
    Scenario(text="Sunny in Paris"),
)
DS_ASK = [Message.user("Weather in Paris?")]


def _ds(server: MockServer) -> dict[str, Any]:
    return {"api_key": KEY, "base_url": server.base_url("deepseek-responses")}


def _ds_history(first: ChatResponse) -> list[Message]:
    assert first.reasoning == "Use the tool" and first.finish_reason == "tool_calls"
    assert [(b.text_value, b.signature) for b in first.thinking_blocks] == [("Use the tool", None)]
    return [*DS_ASK, first.to_message(), Message.tool(first.tool_calls[0].id, "sunny")]


def _check_deepseek(second: ChatResponse, server: MockServer) -> None:
    assert second.content == "Sunny in Paris"
    _, req = server.requests
    assert req.path == "/responses" and req.dialect == "deepseek-responses"  # no /v1
    body = req.json()
    assert "store" not in body and "include" not in body  # recorded DeepSeek requests omit them
    assert body["reasoning"] == {"effort": "high"} and body["max_output_tokens"] == 8
    # DeepSeek returns raw reasoning and gets it back as such on the tool-call turn
    assert body["input"][1] == {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Use the tool"}],
    }
    assert [i.get("type") for i in body["input"][2:]] == ["function_call", "function_call_output"]


def test_deepseek_overlay_sync(mock_server: MockServer) -> None:
    mock_server.push(*DS_TURNS)
    kw: dict[str, Any] = {"tools": [WEATHER], "reasoning": "high", "max_tokens": 8}
    with DeepSeekResponses(**_ds(mock_server)) as p:
        first = p.chat(model="deepseek-v4-flash", messages=DS_ASK, **kw)
        second = p.chat(model="deepseek-v4-flash", messages=_ds_history(first), **kw)
    _check_deepseek(second, mock_server)


async def test_deepseek_overlay_async(mock_server: MockServer) -> None:
    mock_server.push(*DS_TURNS)
    kw: dict[str, Any] = {"tools": [WEATHER], "reasoning": "high", "max_tokens": 8}
    async with AsyncDeepSeekResponses(**_ds(mock_server)) as p:
        stream = await p.chat(model="deepseek-v4-flash", messages=DS_ASK, stream=True, **kw)
        first = await stream.final_response()
        second = await p.chat(model="deepseek-v4-flash", messages=_ds_history(first), **kw)
    _check_deepseek(second, mock_server)
