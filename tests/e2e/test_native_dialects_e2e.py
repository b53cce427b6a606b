"""End-to-end: generated ``Ollama``/``AsyncOllama`` and ``Cohere``/``AsyncCohere`` against the
mock server's native Ollama (``/api/chat``, NDJSON) and Cohere v2 (``/v2/chat``, named SSE)
plugins. Every test has a sync and an async twin."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from ailib import AiClient, AsyncAiClient, Message, ToolDefinition
from ailib.errors import ParameterError, ProtocolError, RemoteError, StreamInterruptedError
from ailib.providers.cohere import AsyncCohere, Cohere
from ailib.providers.ollama import AsyncOllama, Ollama
from ailib.runtime._async_engine import AsyncEngine
from ailib.runtime._sync_engine import SyncEngine
from ailib.testing import MockServer, Scenario

KEY = "co-secret-test-key-123"
WEATHER = ToolDefinition.from_function(
    name="get_weather",
    description="Get current weather for a location",
    parameters={"type": "object", "properties": {"location": {"type": "string"}}},
)
TIME = ToolDefinition.from_function(
    name="get_time", description="Get the time", parameters={"type": "object", "properties": {}}
)
SCHEMA = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
HI = [Message.user("hi")]


@attrs.frozen
class Target:
    name: str
    sync: type[SyncEngine]
    asyn: type[AsyncEngine]
    model: str
    thinker: str  # a model that declares reasoning
    base_url: str

    def client(self, **kw: Any) -> Any:
        return self.sync(api_key=KEY, base_url=self.base_url, **kw)

    def aclient(self, **kw: Any) -> Any:
        return self.asyn(api_key=KEY, base_url=self.base_url, **kw)


TARGETS = {
    "ollama": (Ollama, AsyncOllama, "llama3.1", "qwen3"),
    "cohere": (Cohere, AsyncCohere, "command-a-03-2025", "command-a-reasoning-08-2025"),
}


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, mock_server: MockServer) -> Target:
    sync, asyn, model, thinker = TARGETS[request.param]
    return Target(request.param, sync, asyn, model, thinker, mock_server.base_url(request.param))


def last_body(server: MockServer) -> Any:
    return server.requests[-1].json()


# ---- chat ------------------------------------------------------------------------------------

SAMPLING = {"temperature": 0.2, "max_tokens": 64, "top_p": 0.5, "top_k": 40, "seed": 7}


def check_chat_wire(t: Target, server: MockServer, *, stream: bool) -> None:
    req = server.requests[-1]
    body = req.json()
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    if t.name == "ollama":
        assert req.path == "/api/chat"
        options = {"temperature": 0.2, "num_predict": 64, "top_p": 0.5, "top_k": 40, "seed": 7}
        want = {"model": t.model, "messages": messages, "stream": stream, "options": options}
        assert body == {**want, "options": {**options, "stop": ["END"]}}
    else:
        assert req.path == "/v2/chat"
        assert body == {"model": t.model, "messages": messages, "stream": stream,
                        "temperature": 0.2, "max_tokens": 64, "p": 0.5, "k": 40, "seed": 7,
                        "stop_sequences": ["END"]}  # fmt: skip
    assert req.headers["authorization"] == f"Bearer {KEY}"


def test_chat_sync(target: Target, mock_server: MockServer) -> None:
    with target.client() as provider:
        resp = provider.chat(
            model=target.model,
            messages=[Message.system("Be brief."), Message.user("Hello")],
            stop="END",
            **SAMPLING,
        )
    assert resp.content == "echo: Hello" and resp.finish_reason == "stop"
    assert resp.usage.input_tokens > 0 and resp.usage.output_tokens > 0
    assert resp.usage.total_tokens == resp.usage.input_tokens + resp.usage.output_tokens
    assert resp.raw is not None and resp.tool_calls == []
    if target.name == "cohere":
        assert resp.request_id == f"{1:032x}" and resp.id
    else:
        assert resp.model == target.model and resp.request_id is None
    check_chat_wire(target, mock_server, stream=False)


async def test_chat_async(target: Target, mock_server: MockServer) -> None:
    async with target.aclient() as provider:
        resp = await provider.chat(
            model=target.model,
            messages=[Message.system("Be brief."), Message.user("Hello")],
            stop=["END"],
            **SAMPLING,
        )
    assert resp.content == "echo: Hello" and resp.finish_reason == "stop"
    check_chat_wire(target, mock_server, stream=False)


def test_stream_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time there was a parser", usage=(7, 9)))
    messages = [Message.system("Be brief."), Message.user("Hello")]
    with (
        target.client() as provider,
        provider.chat(
            model=target.model, messages=messages, stream=True, stop="END", **SAMPLING
        ) as stream,
    ):
        kinds, parts = [], []
        for event in stream:
            kinds.append(event.kind)
            if event.is_content_delta:
                parts.append(event.as_content_delta.content)
        final = stream.final_response()
    assert len(parts) > 1 and "".join(parts) == final.content
    assert final.content == "once upon a time there was a parser"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (7, 9)
    assert final.finish_reason == "stop" and kinds[-2:] == ["usage", "stream_end"]
    check_chat_wire(target, mock_server, stream=True)


async def test_stream_async(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="once upon a time", usage=(7, 9)))
    messages = [Message.system("Be brief."), Message.user("Hello")]
    async with target.aclient() as provider:
        stream = await provider.chat(
            model=target.model, messages=messages, stream=True, stop="END", **SAMPLING
        )
        async with stream:
            parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
        final = await stream.final_response()
    assert "".join(parts) == "once upon a time" == final.content
    assert final.usage.output_tokens == 9 and final.finish_reason == "stop"
    check_chat_wire(target, mock_server, stream=True)


# ---- tools -----------------------------------------------------------------------------------

TWO_CALLS = Scenario(
    text="Let me check.",
    tool_calls=[("get_weather", {"location": "Tokyo"}), ("get_weather", {"location": "Paris"})],
)


def check_tool_turn(t: Target, server: MockServer, calls: list[Any], plan: str) -> None:
    """The assistant turn and both results went back in the provider's own format."""
    body = last_body(server)
    if t.name == "ollama":
        assert body["tools"][0] == {
            "type": "function",
            "function": {"name": "get_weather", "description": WEATHER.description,
                         "parameters": WEATHER.parameters},
        }  # fmt: skip
        wire_calls = [{"function": {"name": c.function_name, "arguments": c.arguments}}
                      for c in calls]  # fmt: skip
        assert body["messages"][1] == {"role": "assistant", "content": plan,
                                       "tool_calls": wire_calls}  # fmt: skip
        for msg, temp in zip(body["messages"][2:], (21, 18), strict=True):
            assert msg == {"role": "tool", "content": json.dumps({"temp": temp}),
                           "tool_name": "get_weather"}  # fmt: skip
    else:
        assert body["tools"][0]["function"]["name"] == "get_weather"
        wire_calls = [
            {"id": c.id, "type": "function",
             "function": {"name": c.function_name, "arguments": c.raw_arguments}}
            for c in calls
        ]  # fmt: skip
        assert body["messages"][1] == {"role": "assistant", "tool_plan": plan,
                                       "tool_calls": wire_calls}  # fmt: skip
        for msg, call, temp in zip(body["messages"][2:], calls, (21, 18), strict=True):
            assert msg == {"role": "tool", "tool_call_id": call.id,
                           "content": json.dumps({"temp": temp})}  # fmt: skip


def history(first: Any) -> list[Message]:
    msgs = [Message.user("Weather in Tokyo and Paris?"), first.to_message()]
    msgs += [
        Message.tool(c.id, {"temp": t}) for c, t in zip(first.tool_calls, (21, 18), strict=True)
    ]
    return msgs


def test_tools_round_trip_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.push(TWO_CALLS, Scenario(text="Sunny."))
    with target.client() as provider:
        first = provider.chat(
            model=target.model, messages=[Message.user("Weather in Tokyo and Paris?")],
            tools=[WEATHER],
        )  # fmt: skip
        assert first.finish_reason == "tool_calls" and first.content == "Let me check."
        assert [c.arguments for c in first.tool_calls] == [
            {"location": "Tokyo"},
            {"location": "Paris"},
        ]
        assert len({c.id for c in first.tool_calls}) == 2
        final = provider.chat(model=target.model, messages=history(first), tools=[WEATHER])
    assert final.content == "Sunny."
    check_tool_turn(target, mock_server, first.tool_calls, "Let me check.")


async def test_tools_round_trip_async(target: Target, mock_server: MockServer) -> None:
    mock_server.push(TWO_CALLS, Scenario(text="Sunny."))
    async with target.aclient() as provider:
        stream = await provider.chat(
            model=target.model, messages=[Message.user("Weather in Tokyo and Paris?")],
            tools=[WEATHER], stream=True,
        )  # fmt: skip
        async with stream:
            kinds = [e.kind async for e in stream]
        first = await stream.final_response()
        assert kinds.count("tool_call_started") == 2 and kinds.count("tool_call_ended") == 2
        assert first.finish_reason == "tool_calls"
        final = await provider.chat(model=target.model, messages=history(first), tools=[WEATHER])
    assert final.content == "Sunny."
    check_tool_turn(target, mock_server, first.tool_calls, "Let me check.")


def _two_rounds_names(server: MockServer) -> list[str]:
    body = last_body(server)
    return [m.get("tool_name") or m.get("tool_call_id") for m in body["messages"][2::2]]


def test_ollama_results_name_their_call_across_rounds_sync(mock_server: MockServer) -> None:
    """Native Ollama calls carry no ids: each result is matched to its own turn's call."""
    mock_server.push(
        Scenario(tool_calls=[("get_weather", {})]), Scenario(tool_calls=[("get_time", {})])
    )
    with Ollama(base_url=mock_server.base_url("ollama")) as provider:
        msgs = [Message.user("go")]
        for _ in range(2):
            resp = provider.chat(model="llama3.1", messages=msgs, tools=[WEATHER, TIME])
            msgs += [resp.to_message(), Message.tool(resp.tool_calls[0].id, "ok")]
        provider.chat(model="llama3.1", messages=msgs)
    assert _two_rounds_names(mock_server) == ["get_weather", "get_time"]


async def test_ollama_results_name_their_call_across_rounds_async(mock_server: MockServer) -> None:
    mock_server.push(
        Scenario(tool_calls=[("get_weather", {})]), Scenario(tool_calls=[("get_time", {})])
    )
    async with AsyncOllama(base_url=mock_server.base_url("ollama")) as provider:
        msgs = [Message.user("go")]
        for _ in range(2):
            resp = await provider.chat(model="llama3.1", messages=msgs, tools=[WEATHER, TIME])
            msgs += [resp.to_message(), Message.tool(resp.tool_calls[0].id, "ok")]
        await provider.chat(model="llama3.1", messages=msgs)
    assert _two_rounds_names(mock_server) == ["get_weather", "get_time"]


# ---- reasoning -------------------------------------------------------------------------------


def check_thinking_wire(t: Target, server: MockServer, sent: Any) -> None:
    body = last_body(server)
    if t.name == "ollama":
        assert body["think"] == sent
    elif sent is False:
        assert body["thinking"] == {"type": "disabled"}
    else:
        assert body["thinking"] == {"type": "enabled", "token_budget": sent}


def check_thinking_replayed(t: Target, server: MockServer) -> None:
    """The thinking of the previous answer goes back in the assistant turn."""
    assistant = last_body(server)["messages"][1]
    if t.name == "ollama":
        assert assistant == {"role": "assistant", "content": "42", "thinking": "think hard"}
    else:
        assert assistant == {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "think hard"}, {"type": "text", "text": "42"}]}  # fmt: skip


def test_reasoning_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.push(
        Scenario(text="42", reasoning="think hard"), Scenario(text="42", reasoning="think hard")
    )
    question = [Message.user("meaning?")]
    with target.client() as provider:
        resp = provider.chat(model=target.thinker, messages=question, reasoning="low")
        check_thinking_wire(target, mock_server, True if target.name == "ollama" else 1024)
        with provider.chat(
            model=target.thinker, messages=question, reasoning="low", stream=True
        ) as s:
            thinking = "".join(e.as_thinking_delta.thinking for e in s if e.is_thinking_delta)
        streamed = s.final_response()
        provider.chat(
            model=target.thinker, messages=[*question, resp.to_message(), Message.user("why?")]
        )
    assert resp.content == "42" and resp.reasoning == "think hard"
    assert thinking == "think hard" and streamed.reasoning == "think hard"
    assert [(b.type, b.text_value) for b in resp.thinking_blocks] == [("thinking", "think hard")]
    check_thinking_replayed(target, mock_server)


async def test_reasoning_async(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="42", reasoning="think hard"), Scenario(text="7"))
    question = [Message.user("meaning?")]
    async with target.aclient() as provider:
        resp = await provider.chat(model=target.thinker, messages=question, reasoning="high")
        check_thinking_wire(target, mock_server, True if target.name == "ollama" else 16384)
        off = await provider.chat(model=target.thinker, messages=question, reasoning=False)
        check_thinking_wire(target, mock_server, False)
        await provider.chat(
            model=target.thinker, messages=[*question, resp.to_message(), Message.user("why?")]
        )
    assert resp.reasoning == "think hard" and off.reasoning is None
    check_thinking_replayed(target, mock_server)


def test_ollama_think_levels_sync(mock_server: MockServer) -> None:
    """GPT-OSS takes a level; other models a boolean (Ollama docs)."""
    with Ollama(base_url=mock_server.base_url("ollama")) as provider:
        provider.chat(model="gpt-oss:20b", messages=HI, reasoning="low")
        assert last_body(mock_server)["think"] == "low"
        provider.chat(model="gpt-oss", messages=HI, reasoning={"think": "high"})
        assert last_body(mock_server)["think"] == "high"


async def test_ollama_think_levels_async(mock_server: MockServer) -> None:
    async with AsyncOllama(base_url=mock_server.base_url("ollama")) as provider:
        await provider.chat(model="gpt-oss:120b", messages=HI, reasoning=20000)
        assert last_body(mock_server)["think"] == "high"
        await provider.chat(model="qwen3:8b", messages=HI, reasoning="high")
        assert last_body(mock_server)["think"] is True


# ---- errors ----------------------------------------------------------------------------------

STATUSES = [(400, "E1001"), (401, "E1002"), (404, "E1004"), (429, "E2001"), (500, "E3001"),
            (503, "E3002")]  # fmt: skip


def check_error(t: Target, err: RemoteError, status: int, code: str) -> None:
    assert (err.code, err.status, err.provider) == (code, status, t.name)
    assert err.retryable == (code in ("E2001", "E3001", "E3002"))
    if t.name == "ollama":  # {"error": "<message>"}
        assert err.body == {"error": err.message}
    else:  # {"id": ..., "message": ...}
        assert err.body["message"] == err.message and err.body["id"]
    if status == 404:
        assert t.model in err.message
    assert err.retry_after == (3 if status == 429 else None)
    assert KEY not in str(err) and KEY not in repr(err)


@pytest.mark.parametrize(("status", "code"), STATUSES)
def test_error_status_sync(target: Target, mock_server: MockServer, status: int, code: str) -> None:
    mock_server.push(Scenario(status=status, retry_after=3 if status == 429 else None))
    with target.client(max_retries=0) as provider, pytest.raises(RemoteError) as info:
        provider.chat(model=target.model, messages=HI)
    check_error(target, info.value, status, code)


@pytest.mark.parametrize(("status", "code"), STATUSES)
async def test_error_status_async(
    target: Target, mock_server: MockServer, status: int, code: str
) -> None:
    mock_server.push(Scenario(status=status, retry_after=3 if status == 429 else None))
    async with target.aclient(max_retries=0) as provider:
        with pytest.raises(RemoteError) as info:
            stream = await provider.chat(model=target.model, messages=HI, stream=True)
            async with stream:
                pass
    check_error(target, info.value, status, code)


# Ollama: an {"error": ...} line; Cohere: message-end with finish_reason ERROR and delta.error
STREAM_ERRORS = {
    "ollama": "llama runner process has terminated: exit status 2",
    "cohere": "internal server error, this has been reported to our developers",
}


def check_stream_error(t: Target, err: RemoteError, parts: list[str]) -> None:
    assert (err.code, err.message, err.status) == ("E3001", STREAM_ERRORS[t.name], None)
    assert err.provider_code == ("ERROR" if t.name == "cohere" else None)
    assert "".join(parts) == "a b c"  # the content before the error was delivered


def test_error_inside_stream_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c", stream_error={"message": STREAM_ERRORS[target.name]}))
    parts: list[str] = []
    messages = [Message.user("hi")]
    with (
        target.client() as provider,
        pytest.raises(RemoteError) as info,
        provider.chat(model=target.model, messages=messages, stream=True) as stream,
    ):
        for event in stream:
            if event.is_content_delta:
                parts.append(event.as_content_delta.content)
    check_stream_error(target, info.value, parts)


async def test_error_inside_stream_async(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c", stream_error={}))  # the dialect's default error
    parts: list[str] = []
    async with target.aclient() as provider:
        stream = await provider.chat(model=target.model, messages=HI, stream=True)
        with pytest.raises(RemoteError) as info:
            async with stream:
                async for event in stream:
                    if event.is_content_delta:
                        parts.append(event.as_content_delta.content)
    check_stream_error(target, info.value, parts)


def test_stream_cut_keeps_partial_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two three four five six", cut_after=3), Scenario(text="x"))
    with (
        target.client(max_retries=3) as provider,
        pytest.raises(StreamInterruptedError) as info,
        provider.chat(model=target.model, messages=HI, stream=True) as stream,
    ):
        for _ in stream:
            pass
    assert info.value.partial is not None and info.value.partial.content
    assert "six" not in info.value.partial.content
    assert len(mock_server.requests) == 1  # never retried after the first byte


async def test_stream_cut_keeps_partial_async(target: Target, mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two three four five six", cut_after=3))
    async with target.aclient() as provider:
        stream = await provider.chat(model=target.model, messages=HI, stream=True)
        with pytest.raises(StreamInterruptedError) as info:
            async with stream:
                async for _ in stream:
                    pass
    assert info.value.partial is not None and "six" not in info.value.partial.content


# ---- structured output, images, tool choice, auth --------------------------------------------

JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "a", "schema": SCHEMA}}


def check_format_wire(t: Target, server: MockServer) -> None:
    schema_body, mode_body = (r.json() for r in server.requests[-2:])
    if t.name == "ollama":
        assert (schema_body["format"], mode_body["format"]) == (SCHEMA, "json")
    else:
        want = {"type": "json_object", "json_schema": SCHEMA}
        assert schema_body["response_format"] == want
        assert mode_body["response_format"] == {"type": "json_object"}


def test_structured_output_sync(target: Target, mock_server: MockServer) -> None:
    mock_server.set_default(Scenario(text='{"a": 1}'))
    with target.client() as provider:
        for fmt in (JSON_SCHEMA, {"type": "json_object"}):
            resp = provider.chat(
                model=target.model, messages=[Message.user("j")], response_format=fmt
            )
            assert json.loads(resp.content) == {"a": 1}
    check_format_wire(target, mock_server)


async def test_structured_output_async(target: Target, mock_server: MockServer) -> None:
    mock_server.set_default(Scenario(text='{"a": 1}'))
    async with target.aclient() as provider:
        for fmt in (JSON_SCHEMA, {"type": "json_object"}):
            resp = await provider.chat(
                model=target.model, messages=[Message.user("j")], response_format=fmt
            )
            assert json.loads(resp.content) == {"a": 1}
    check_format_wire(target, mock_server)


PNG = b"\x89PNG\r\n\x1a\n"
VISION = {"ollama": "gemma3", "cohere": "command-a-vision-07-2025"}


def check_image_wire(t: Target, server: MockServer) -> None:
    msg = last_body(server)["messages"][0]
    if t.name == "ollama":
        assert msg == {"role": "user", "content": "What is this?", "images": ["iVBORw0KGgo="]}
    else:
        assert msg == {"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]}  # fmt: skip


def test_image_sync(target: Target, mock_server: MockServer) -> None:
    msg = Message.user_with_image("What is this?", image_base64=PNG, media_type="image/png")
    url = Message.user_with_image("What is this?", image_url="https://example.com/cat.png")
    model = VISION[target.name]
    with target.client() as provider:
        assert provider.chat(model=model, messages=[msg]).content == "echo: What is this?"
        check_image_wire(target, mock_server)
        if target.name == "ollama":  # the native API takes inline images only
            with pytest.raises(ProtocolError, match="inline images"):
                provider.chat(model=model, messages=[url])
            assert len(mock_server.requests) == 1
        else:
            provider.chat(model=model, messages=[url])
            image = last_body(mock_server)["messages"][0]["content"][1]["image_url"]
            assert image == {"url": "https://example.com/cat.png"}


async def test_image_async(target: Target, mock_server: MockServer) -> None:
    msg = Message.user_with_image("What is this?", image_base64=PNG, media_type="image/png")
    async with target.aclient() as provider:
        resp = await provider.chat(model=VISION[target.name], messages=[msg])
    assert resp.content == "echo: What is this?"
    check_image_wire(target, mock_server)


CHOICES = [("required", "REQUIRED", ["get_weather", "get_time"]),
           ("none", "NONE", ["get_weather", "get_time"]),
           ("get_time", "REQUIRED", ["get_time"]),  # Cohere cannot name one: only it is offered
           ("auto", None, ["get_weather", "get_time"])]  # fmt: skip


def test_tool_choice_sync(target: Target, mock_server: MockServer) -> None:
    name = f"{target.name}/{target.model}"
    with AiClient.create(name, api_key=KEY, base_url=target.base_url) as client:
        for choice, wire, offered in CHOICES:
            builder = client.chat().user("t").tools([WEATHER, TIME]).tool_choice(choice)
            if target.name == "ollama":  # no tool_choice in Ollama's API: refused before sending
                with pytest.raises(ParameterError, match="tool_choice"):
                    builder.execute()
                assert mock_server.requests == []
                continue
            builder.execute()
            body = last_body(mock_server)
            assert body.get("tool_choice") == wire
            assert [t["function"]["name"] for t in body["tools"]] == offered


async def test_tool_choice_async(target: Target, mock_server: MockServer) -> None:
    name = f"{target.name}/{target.model}"
    client = await AsyncAiClient.create(
        name, api_key=KEY, base_url=target.base_url, drop_unsupported=True
    )
    async with client:
        await client.chat().user("t").tools([WEATHER]).tool_choice("required").execute()
    want = None if target.name == "ollama" else "REQUIRED"  # Ollama: dropped with a warning
    assert last_body(mock_server).get("tool_choice") == want


def _credentials(target: Target, monkeypatch: pytest.MonkeyPatch, var: str) -> str | None:
    for name in ("OLLAMA_API_KEY", "CO_API_KEY", "COHERE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if target.name == "ollama":
        return None  # a local Ollama needs no key: no Authorization header at all
    monkeypatch.setenv(var, "env-key")
    return "Bearer env-key"


def test_credentials_sync(
    target: Target, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = _credentials(target, monkeypatch, "COHERE_API_KEY")
    with AiClient.create(f"{target.name}/{target.model}", base_url=target.base_url) as client:
        assert client.chat().user("hi").execute().content == "echo: hi"
    assert mock_server.requests[-1].headers.get("authorization") == want


async def test_credentials_async(
    target: Target, mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    want = _credentials(target, monkeypatch, "CO_API_KEY")
    client = await AsyncAiClient.create(f"{target.name}/{target.model}", base_url=target.base_url)
    async with client, client.chat().user("hi").stream() as stream:
        text = "".join([e.as_content_delta.content async for e in stream if e.is_content_delta])
    assert text == "echo: hi"
    assert mock_server.requests[-1].headers.get("authorization") == want
