"""End-to-end: the public API, sync and async, against the loopback mock server."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, Message, ToolDefinition
from ailib.errors import ParameterError, RemoteError, StreamInterruptedError
from ailib.testing import MockServer, Scenario

PROVIDERS = [
    ("openai", "gpt-4o"),
    ("anthropic", "claude-sonnet-4-5"),
    ("gemini", "gemini-2.5-flash"),
    ("mock", "echo"),
]
KEY = "sk-secret-test-key-123"
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a location",
    parameters={
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
    },
)


@pytest.fixture(params=PROVIDERS, ids=[p for p, _ in PROVIDERS])
def target(request: pytest.FixtureRequest, mock_server: MockServer) -> tuple[str, str, str]:
    provider, model = request.param
    return provider, model, mock_server.base_url(provider)


TWELVE_WORDS = "one two three four five six seven eight nine ten eleven twelve"


def _client(target: tuple[str, str, str], **kw: Any) -> AiClient:
    provider, model, base = target
    return AiClient.create(f"{provider}/{model}", api_key=KEY, base_url=base, **kw)


async def _aclient(target: tuple[str, str, str], **kw: Any) -> AsyncAiClient:
    provider, model, base = target
    return await AsyncAiClient.create(f"{provider}/{model}", api_key=KEY, base_url=base, **kw)


def _check_wire(provider: str, model: str, server: MockServer) -> None:
    req = server.requests[-1]
    body = req.json()
    if provider == "gemini":
        assert model in req.path
        assert body["generationConfig"]["temperature"] == 0.2
        assert body["generationConfig"]["maxOutputTokens"] == 64
        assert body["systemInstruction"]["parts"][0]["text"] == "Be brief."
        assert req.headers["x-goog-api-key"] == KEY
    elif provider == "anthropic":
        assert body["model"] == model
        assert body["max_tokens"] == 64 and body["temperature"] == 0.2
        assert body["system"] == "Be brief."
        assert req.headers["x-api-key"] == KEY
        assert req.headers["anthropic-version"] == "2023-06-01"
    else:
        assert body["model"] == model
        assert body["temperature"] == 0.2
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 64
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}


def test_execute_sync(target: tuple[str, str, str], mock_server: MockServer) -> None:
    provider, model, _ = target
    with _client(target) as client:
        resp = (
            client.chat()
            .system("Be brief.")
            .user("Hello")
            .temperature(0.2)
            .max_tokens(64)
            .execute()
        )
    assert resp.content == "echo: Hello"
    assert resp.finish_reason == "stop"
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.raw is not None
    _check_wire(provider, model, mock_server)


async def test_execute_async(target: tuple[str, str, str], mock_server: MockServer) -> None:
    provider, model, _ = target
    async with await _aclient(target) as client:
        resp = (
            await client.chat()
            .system("Be brief.")
            .user("Hello")
            .temperature(0.2)
            .max_tokens(64)
            .execute()
        )
    assert resp.content == "echo: Hello"
    assert resp.finish_reason == "stop"
    _check_wire(provider, model, mock_server)


def test_stream_sync(target: tuple[str, str, str], mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time there was a parser", usage=(7, 9)))
    with _client(target) as client, client.chat().user("Tell a story").stream() as stream:
        parts = [e.as_content_delta.content for e in stream if e.is_content_delta]
        final = stream.final_response()
    assert len(parts) > 1
    assert "".join(parts) == "once upon a time there was a parser"
    assert final.content == "once upon a time there was a parser"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 9)
    assert final.finish_reason == "stop"
    body = mock_server.requests[-1].json()
    if target[0] in ("openai", "mock"):
        assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_stream_async(target: tuple[str, str, str], mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time", usage=(7, 9)))
    async with await _aclient(target) as client:
        async with client.chat().user("Tell a story").stream() as stream:
            parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
        final = await stream.final_response()
    assert "".join(parts) == "once upon a time" == final.content
    assert final.usage.output_tokens == 9


def _tool_turns(provider: str, server: MockServer, resp_calls: list[Any]) -> None:
    call = resp_calls[0]
    assert call.function_name == "get_weather"
    assert call.arguments == {"location": "Tokyo"}
    body = server.requests[-1].json()
    if provider == "anthropic":
        assert body["messages"][1]["content"][0]["type"] == "tool_use"
        result = body["messages"][2]["content"][0]
        assert result == {"type": "tool_result", "tool_use_id": call.id, "content": '{"temp": 21}'}
    elif provider == "gemini":
        assert body["contents"][1]["parts"][0]["functionCall"]["name"] == "get_weather"
        fr = body["contents"][2]["parts"][0]["functionResponse"]
        assert fr == {"name": "get_weather", "response": {"temp": 21}}
    else:
        assert body["messages"][1]["tool_calls"][0]["id"] == call.id
        assert body["messages"][2] == {
            "role": "tool",
            "tool_call_id": call.id,
            "content": '{"temp": 21}',
        }


def test_tools_round_trip_sync(target: tuple[str, str, str], mock_server: MockServer) -> None:
    mock_server.push(Scenario(tool_calls=[("get_weather", {"location": "Tokyo"})]))
    with _client(target) as client:
        first = client.chat().user("Weather in Tokyo?").tools([WEATHER]).execute()
        assert first.finish_reason == "tool_calls"
        history = [Message.user("Weather in Tokyo?"), first.to_message()]
        history.append(Message.tool(first.tool_calls[0].id, {"temp": 21}))
        final = client.chat().messages(history).tools([WEATHER]).execute()
    assert final.content
    _tool_turns(target[0], mock_server, first.tool_calls)


async def test_tools_round_trip_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(tool_calls=[("get_weather", {"location": "Tokyo"})]))
    async with await _aclient(target) as client:
        async with client.chat().user("Weather in Tokyo?").tools([WEATHER]).stream() as stream:
            kinds = [e.kind async for e in stream]
        first = await stream.final_response()
        assert kinds.count("tool_call_started") == 1 and kinds.count("tool_call_ended") == 1
        history = [Message.user("Weather in Tokyo?"), first.to_message()]
        history.append(Message.tool(first.tool_calls[0].id, {"temp": 21}))
        await client.chat().messages(history).tools([WEATHER]).execute()
    _tool_turns(target[0], mock_server, first.tool_calls)


REASONING_MODELS = {"openai": "o3-mini"}


def _reasoning(target: tuple[str, str, str]) -> tuple[str, str, str]:
    return target[0], REASONING_MODELS.get(target[0], target[1]), target[2]


def test_reasoning_sync(target: tuple[str, str, str], mock_server: MockServer) -> None:
    target = _reasoning(target)
    mock_server.push(
        Scenario(text="42", reasoning="think hard", reasoning_tokens=5),
        Scenario(text="42", reasoning="think hard"),
    )
    with _client(target) as client:
        resp = client.chat().user("meaning?").reasoning("low").execute()
        with client.chat().user("meaning?").reasoning("low").stream() as stream:
            thinking = "".join(e.as_thinking_delta.thinking for e in stream if e.is_thinking_delta)
    assert resp.content == "42" and resp.reasoning == "think hard"
    assert thinking == "think hard"


async def test_reasoning_async(target: tuple[str, str, str], mock_server: MockServer) -> None:
    target = _reasoning(target)
    mock_server.push(Scenario(text="42", reasoning="think hard"))
    async with await _aclient(target) as client:
        resp = await client.chat().user("meaning?").reasoning("high").execute()
    assert resp.reasoning == "think hard"
    body = mock_server.requests[-1].json()
    if target[0] == "anthropic":
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 16384}
    elif target[0] == "gemini":
        assert body["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 16384
    else:
        assert body["reasoning_effort"] == "high"


@pytest.mark.parametrize(
    "status,code", [(429, "E2001"), (401, "E1002"), (404, "E1004"), (500, "E3001")]
)
def test_error_status_sync(
    target: tuple[str, str, str], mock_server: MockServer, status: int, code: str
) -> None:
    mock_server.push(Scenario(status=status, retry_after=3 if status == 429 else None))
    with _client(target, max_retries=0) as client, pytest.raises(RemoteError) as info:
        client.chat().user("hi").execute()
    err = info.value
    assert err.code == code and err.status == status
    assert err.retryable == (code in ("E2001", "E3001"))
    if status == 429:
        assert err.retry_after == 3
    assert KEY not in str(err) and KEY not in repr(err)


async def test_error_status_async(target: tuple[str, str, str], mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=429, retry_after=2))
    async with await _aclient(target, max_retries=0) as client:
        with pytest.raises(RemoteError) as info:
            await client.chat().user("hi").execute()
    assert info.value.code == "E2001" and info.value.retry_after == 2


def test_retry_then_success_sync(target: tuple[str, str, str], mock_server: MockServer) -> None:
    mock_server.push(Scenario(status=503, retry_after=0.01), Scenario(text="ok"))
    with _client(target, max_retries=2) as client:
        assert client.chat().user("hi").execute().content == "ok"
    assert len(mock_server.requests) == 2


async def test_retry_then_success_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=429, retry_after=0.01), Scenario(text="ok"))
    async with await _aclient(target, max_retries=1) as client:
        assert (await client.chat().user("hi").execute()).content == "ok"
    assert len(mock_server.requests) == 2


def test_not_retryable_is_not_retried(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=400), Scenario(text="never"))
    with _client(target, max_retries=3) as client, pytest.raises(RemoteError):
        client.chat().user("hi").execute()
    assert len(mock_server.requests) == 1


def test_stream_cut_keeps_partial_sync(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    # cut after some content in every dialect (Anthropic sends 2-3 events before any text)
    mock_server.push(Scenario(text=TWELVE_WORDS, cut_after=6), Scenario(text="x"))
    with _client(target, max_retries=3) as client:
        seen = []
        with pytest.raises(StreamInterruptedError) as info, client.chat().user("hi").stream() as s:
            for event in s:
                if event.is_content_delta:
                    seen.append(event.as_content_delta.content)
    assert info.value.partial is not None
    assert info.value.partial.content == "".join(seen)
    assert seen and len(mock_server.requests) == 1  # never retried after content arrived


async def test_stream_cut_keeps_partial_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text=TWELVE_WORDS, cut_after=6), Scenario(text="x"))
    async with await _aclient(target) as client:
        with pytest.raises(StreamInterruptedError) as info:
            async with client.chat().user("hi").stream() as stream:
                async for _ in stream:
                    pass
    assert info.value.partial is not None and info.value.partial.content
    assert "twelve" not in info.value.partial.content and len(mock_server.requests) == 1


def test_stream_cut_before_any_content_is_retried_sync(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text="lost", cut_after=0), Scenario(text="served"))
    with _client(target, max_retries=3) as client, client.chat().user("hi").stream() as s:
        assert "".join(e.as_content_delta.content for e in s if e.is_content_delta) == "served"
    assert len(mock_server.requests) == 2


async def test_stream_cut_before_any_content_is_retried_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text="lost", cut_after=0), Scenario(text="served"))
    client = await _aclient(target, max_retries=3)
    async with client, client.chat().user("hi").stream() as stream:
        texts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
    assert "".join(texts) == "served" and len(mock_server.requests) == 2


def test_undeclared_parameter_refused_before_sending(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    with _client(target) as client, pytest.raises(ParameterError) as info:
        client.chat().user("hi").param("temprature", 0.1).execute()
    assert info.value.code == "E1001" and "temperature" in str(info.value)
    assert mock_server.requests == []


async def test_drop_unsupported_warns_async(
    target: tuple[str, str, str], mock_server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with await _aclient(target, drop_unsupported=True) as client:
        with caplog.at_level(logging.WARNING, logger="ailib"):
            await client.chat().user("hi").param("bogus_param", 1).execute()
    assert "bogus_param" in caplog.text
    assert "bogus_param" not in mock_server.requests[-1].body.decode()


def test_image_message_encoding(target: tuple[str, str, str], mock_server: MockServer) -> None:
    msg = Message.user_with_image("What is this?", image_base64=b"\x89PNG", media_type="image/png")
    with _client(target) as client:
        client.chat().messages([msg]).execute()
    body = mock_server.requests[-1].json()
    if target[0] == "anthropic":
        src = body["messages"][0]["content"][1]["source"]
        assert src == {"type": "base64", "media_type": "image/png", "data": "iVBORw=="}
    elif target[0] == "gemini":
        assert body["contents"][0]["parts"][1] == {
            "inlineData": {"mimeType": "image/png", "data": "iVBORw=="}
        }
    else:
        part = body["messages"][0]["content"][1]
        assert part == {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}


def test_key_never_in_repr(target: tuple[str, str, str]) -> None:
    with _client(target) as client:
        assert KEY not in repr(client) and KEY not in repr(client.provider)
        assert KEY not in repr(vars(client.provider))


def test_undeclared_model_capability_refused(mock_server: MockServer) -> None:
    from ailib.errors import CapabilityError

    with (
        AiClient.create(
            "openai/gpt-4o", api_key=KEY, base_url=mock_server.base_url("openai")
        ) as client,
        pytest.raises(CapabilityError) as info,
    ):
        client.chat().user("hi").reasoning("low").execute()
    assert info.value.code == "E1005" and "reasoning" in str(info.value)
    assert mock_server.requests == []


async def test_undeclared_parameter_refused_before_sending_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    async with await _aclient(target) as client:
        with pytest.raises(ParameterError) as info:
            await client.chat().user("hi").param("max_tokenz", 5).execute()
    assert info.value.code == "E1001" and "max_tokens" in str(info.value)
    assert mock_server.requests == []


def test_drop_unsupported_warns_sync(
    target: tuple[str, str, str], mock_server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    with _client(target, drop_unsupported=True) as client, caplog.at_level(logging.WARNING):
        assert client.chat().user("hi").param("bogus_param", 1).execute().content == "echo: hi"
    assert "bogus_param" in caplog.text


async def test_image_url_encoding_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    msg = Message.user_with_image("What is this?", image_url="https://example.com/cat.png")
    async with await _aclient(target) as client:
        await client.chat().messages([msg]).execute()
    body = mock_server.requests[-1].json()
    if target[0] == "anthropic":
        src = body["messages"][0]["content"][1]["source"]
        assert src == {"type": "url", "url": "https://example.com/cat.png"}
    elif target[0] == "gemini":
        part = body["contents"][0]["parts"][1]
        assert part == {
            "fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}
        }
    else:
        part = body["messages"][0]["content"][1]
        assert part == {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}


async def test_key_never_in_repr_async(target: tuple[str, str, str]) -> None:
    async with await _aclient(target) as client:
        assert KEY not in repr(client) and KEY not in repr(vars(client.provider))


def test_retry_policy_override_limits_statuses_sync(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    mock_server.push(Scenario(status=503, retry_after=0.01), Scenario(text="ok"))
    policy = {"max_retries": 3, "retry_on_http_status": [429]}
    with _client(target, retry_policy=policy) as client, pytest.raises(RemoteError) as info:
        client.chat().user("hi").execute()
    assert info.value.status == 503 and len(mock_server.requests) == 1


async def test_retry_policy_override_caps_delay_async(
    target: tuple[str, str, str], mock_server: MockServer
) -> None:
    # Retry-After asks for an hour; the policy's max_delay_ms caps the wait at 10 ms.
    mock_server.push(Scenario(status=429, retry_after=3600), Scenario(text="ok"))
    policy = {"max_retries": 1, "max_delay_ms": 10}
    async with await _aclient(target, retry_policy=policy) as client:
        assert (await client.chat().user("hi").execute()).content == "ok"
    assert len(mock_server.requests) == 2


def test_provider_alias_selects_the_provider_sync(mock_server: MockServer) -> None:
    with AiClient.create(
        "zai/glm-4.6", api_key=KEY, base_url=mock_server.base_url("openai")
    ) as client:
        assert client.provider_id == "zhipu"
        assert client.chat().user("hi").execute().content == "echo: hi"
    assert mock_server.requests[-1].json()["model"] == "glm-4.6"


async def test_provider_alias_selects_the_provider_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create(
        "glm/glm-4.6", api_key=KEY, base_url=mock_server.base_url("openai")
    )
    async with client:
        assert client.provider_id == "zhipu"
        assert (await client.chat().user("hi").execute()).content == "echo: hi"
