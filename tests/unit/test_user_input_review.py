"""Careless input found in review (issue 6 items 4, 5, 6): typed errors or accepted input.

Each request goes to an httpx.MockTransport that records it, so "refused before sending"
and "what reached the wire" are both checked; client-facing checks run sync and async.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message, ToolCall, ToolDefinition
from ailib.dialects import ChatRequest, get_dialect
from ailib.errors import (
    ConfigurationError,
    InvalidRequestError,
    ParameterError,
    ToolDefinitionError,
)
from ailib.pipeline.assemble import Assembler
from ailib.providers.openai import AsyncOpenAI, OpenAI

BASE = "https://api.example.test/v1"
ANSWER = {
    "id": "chatcmpl-1",
    "model": "o3",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
}


class Wire:
    """Records the JSON bodies a client sends."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json=ANSWER)

    def client(self, model: str = "openai/o3", **kw: Any) -> AiClient:
        http = httpx.Client(transport=httpx.MockTransport(self.handler))
        return AiClient.create(model, api_key="k", base_url=BASE, http_client=http, **kw)

    async def aclient(self, model: str = "openai/o3", **kw: Any) -> AsyncAiClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return await AsyncAiClient.create(model, api_key="k", base_url=BASE, http_client=http, **kw)


@pytest.fixture
def wire() -> Wire:
    return Wire()


# ---- reasoning: OpenAI's documented efforts, and typo'd dict keys --------------------------

# effort -> reasoning_effort on the OpenAI Chat wire (None: the field is not sent)
EFFORTS = {"none": "none", "minimal": "minimal", "xhigh": "xhigh", "high": "high"}


@pytest.mark.parametrize("effort", list(EFFORTS))
def test_documented_efforts_reach_the_wire_sync(wire: Wire, effort: str) -> None:
    with wire.client() as client:
        client.chat().user("hi").reasoning(effort).execute()
    assert wire.bodies[-1]["reasoning_effort"] == EFFORTS[effort]


@pytest.mark.parametrize("effort", list(EFFORTS))
async def test_documented_efforts_reach_the_wire_async(wire: Wire, effort: str) -> None:
    async with await wire.aclient() as client:
        await client.chat().user("hi").reasoning(effort).execute()
    assert wire.bodies[-1]["reasoning_effort"] == EFFORTS[effort]


def test_effort_none_on_a_model_without_reasoning_is_not_sent_sync(wire: Wire) -> None:
    with wire.client("openai/gpt-4o") as client:  # no reasoning: nothing to turn off
        client.chat().user("hi").reasoning("none").execute()
    assert "reasoning_effort" not in wire.bodies[-1]


async def test_effort_none_on_a_model_without_reasoning_is_not_sent_async(wire: Wire) -> None:
    async with await wire.aclient("openai/gpt-4o") as client:
        await client.chat().user("hi").reasoning({"effort": "none"}).execute()
    assert "reasoning_effort" not in wire.bodies[-1]


def test_reasoning_dict_typo_is_refused_sync(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(ParameterError, match="no key 'efort'"):
        client.chat().user("hi").reasoning({"efort": "high"}).execute()
    assert wire.bodies == []


async def test_reasoning_dict_typo_is_refused_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(ParameterError, match="no key 'efort'"):
            await client.chat().user("hi").reasoning({"efort": "high"}).execute()
    assert wire.bodies == []


def test_reasoning_dict_without_effort_sends_no_effort_sync(wire: Wire) -> None:
    with wire.client() as client:  # was a raw KeyError in the OpenAI Chat encoder
        client.chat().user("hi").reasoning({"summary": "auto"}).execute()
    assert "reasoning_effort" not in wire.bodies[-1]


def test_typed_module_refuses_reasoning_typo() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=ANSWER))
    http = httpx.Client(transport=transport)
    with (
        OpenAI(api_key="k", base_url=BASE, http_client=http) as p,
        pytest.raises(ParameterError, match="no key 'efort'"),
    ):
        p.chat(model="o3", messages=[Message.user("hi")], reasoning={"efort": "high"})


def _encode(dialect: str, reasoning: Any, model: str = "m") -> dict[str, Any]:
    req = ChatRequest(model=model, messages=[Message.user("hi")], params={"reasoning": reasoning})
    return get_dialect(dialect)(req)


def test_effort_none_turns_reasoning_off_on_every_dialect() -> None:
    assert _encode("openai_responses", "none")["reasoning"] == {"effort": "none"}
    assert "thinking" not in _encode("anthropic_messages", "none")
    assert _encode("gemini_generate", "none")["generationConfig"]["thinkingConfig"] == {
        "thinkingBudget": 0
    }
    assert _encode("cohere_v2", "none")["thinking"] == {"type": "disabled"}
    assert _encode("ollama_chat", "none")["think"] is False
    bedrock = _encode("bedrock_converse", "none", "us.anthropic.claude-sonnet-4-5")
    assert "additionalModelRequestFields" not in bedrock


def test_effort_xhigh_is_mapped_on_every_dialect() -> None:
    assert _encode("anthropic_messages", "xhigh")["thinking"]["budget_tokens"] == 32768
    gen = _encode("gemini_generate", "xhigh")["generationConfig"]
    assert gen["thinkingConfig"]["thinkingBudget"] == 32768
    assert _encode("cohere_v2", "xhigh")["thinking"]["token_budget"] == 32768
    assert _encode("ollama_chat", "xhigh", "gpt-oss:20b")["think"] == "high"
    nova = _encode("bedrock_converse", "xhigh", "us.amazon.nova-premier-v1:0")
    assert nova["additionalModelRequestFields"]["reasoningConfig"]["maxReasoningEffort"] == "high"
    assert _encode("openai_responses", "xhigh")["reasoning"]["effort"] == "xhigh"


# ---- stop sequences ---------------------------------------------------------------------


def test_empty_stop_sequence_is_refused_and_empty_list_means_none_sync(wire: Wire) -> None:
    with wire.client() as client:
        with pytest.raises(ParameterError, match="empty stop sequence"):
            client.chat().user("hi").stop("")
        with pytest.raises(ParameterError, match="empty stop sequence"):
            client.chat().user("hi").stop(["a", ""])
        client.chat().user("hi").stop([]).execute()
    assert "stop" not in wire.bodies[-1]


async def test_empty_stop_sequence_is_refused_and_empty_list_means_none_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(ParameterError, match="empty stop sequence"):
            client.chat().user("hi").stop("")
        await client.chat().user("hi").stop([]).execute()
    assert "stop" not in wire.bodies[-1]


# ---- message dicts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [{"role": "user"}, {"role": "system", "content": None}, {"role": "tool", "tool_call_id": "c"}],
)
def test_dict_message_without_content_is_refused(message: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError, match=r"\['content'\].*needs its content"):
        Message.from_dict(message)


def test_deepseek_reasoning_content_becomes_thinking() -> None:
    msg = Message.from_dict({"role": "assistant", "content": "4", "reasoning_content": "2+2"})
    assert msg.content == [ContentBlock.thinking("2+2"), ContentBlock.text("4")]
    assert msg.text == "4"
    with pytest.raises(InvalidRequestError, match="only assistant messages"):
        Message.from_dict({"role": "user", "content": "q", "reasoning_content": "x"})


HISTORY = [
    {"role": "user", "content": "2+2?"},
    {"role": "assistant", "content": None, "reasoning_content": "add them", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "c1", "content": "4"},
]  # fmt: skip
ADD = {"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}


def test_pasted_deepseek_history_replays_reasoning_sync(wire: Wire) -> None:
    with wire.client("deepseek/deepseek-reasoner") as client:
        client.chat().messages(HISTORY).tools([ADD]).execute()
    assert wire.bodies[-1]["messages"][1]["reasoning_content"] == "add them"


async def test_pasted_deepseek_history_replays_reasoning_async(wire: Wire) -> None:
    async with await wire.aclient("openai/gpt-4o") as client:  # OpenAI: not sent back
        await client.chat().messages(HISTORY).tools([ADD]).execute()
    assert "reasoning_content" not in wire.bodies[-1]["messages"][1]
    assert wire.bodies[-1]["messages"][1]["tool_calls"][0]["id"] == "c1"


# ---- Message and ContentBlock constructors ----------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Message.tool(None, "x"),  # type: ignore[arg-type]
        lambda: Message.tool("", "x"),
        lambda: Message.tool("c", {1, 2}),
        lambda: Message.tool("c", float("nan")),
        lambda: Message.user(None),  # type: ignore[arg-type]
        lambda: Message.system(None),  # type: ignore[arg-type]
        lambda: ContentBlock.text(1),  # type: ignore[arg-type]
        lambda: ContentBlock.image_url(None),  # type: ignore[arg-type]
        lambda: ContentBlock.image_url(""),
        lambda: ContentBlock.image_url("https://x.test/a.png", detail=1),  # type: ignore[arg-type]
        lambda: ContentBlock.image_base64(123),  # type: ignore[arg-type]
        lambda: ContentBlock.image_base64("data:image/png;base64,AAAA"),
        lambda: ContentBlock.image_base64(b"x", 5),  # type: ignore[arg-type]
        lambda: ContentBlock.document(),
        lambda: ContentBlock.document(123),  # type: ignore[arg-type]
        lambda: ContentBlock.document(url=1),  # type: ignore[arg-type]
        lambda: ContentBlock.thinking(None),  # type: ignore[arg-type]
        lambda: Message.user_with_image("x"),
    ],
)
def test_wrong_constructor_input_is_a_typed_error(make: Any) -> None:
    with pytest.raises(InvalidRequestError):
        make()


def test_bytes_like_image_data_is_encoded() -> None:
    for data in (bytearray(b"GIF89a"), memoryview(b"GIF89a")):
        assert ContentBlock.image_base64(data).data == "R0lGODlh"


# ---- tool calls and definitions ---------------------------------------------------------


def test_decoded_non_object_arguments_are_marked() -> None:
    call = ToolCall.from_raw("c", "f", [1, 2])  # type: ignore[arg-type]
    assert call.arguments is None and call.raw_arguments == "[1, 2]"
    assert "an array" in (call.arguments_error or "")


def test_object_wire_scalar_arguments_are_not_made_up() -> None:
    asm = Assembler()
    asm.feed([("tool_call", 0, {"id": "c", "name": "f", "arguments": 5})])
    asm.finish()
    [call] = asm.response().tool_calls
    assert call.arguments is None and call.raw_arguments == "5"


def test_partial_call_without_arguments_is_not_empty_object() -> None:
    asm = Assembler()  # a stream cut right after the call started: no finish()
    asm.feed([("tool_call", 0, {"index": 0, "id": "c", "name": "f"})])
    [call] = asm.response().tool_calls
    assert call.arguments is None and "ended before" in (call.arguments_error or "")
    asm.finish()  # a normal end: a call without arguments takes none
    assert asm.response().tool_calls[0].arguments == {}


def _g(a: int, b: str) -> None:
    """G."""


@pytest.mark.parametrize("func", [1, "get_weather", dict, None])
def test_from_function_needs_a_function(func: Any) -> None:
    with pytest.raises(ToolDefinitionError):
        ToolDefinition.from_function(func)


def test_from_function_partial_still_works() -> None:
    tool = ToolDefinition.from_function(functools.partial(_g, 1))
    assert tool.parameters["required"] == ["b"]


def test_tool_choice_required_without_tools_is_refused_sync(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(ToolDefinitionError, match="no tools"):
        client.chat().user("hi").tool_choice("required").execute()
    assert wire.bodies == []


async def test_tool_choice_required_without_tools_is_refused_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(ToolDefinitionError, match="no tools"):
            await client.chat().user("hi").tool_choice("required").execute()
    assert wire.bodies == []


# ---- typed modules: the model, and create()/constructor options -------------------------


@pytest.mark.parametrize("model", [None, 123, "", " gpt-4o"])
def test_typed_chat_model_is_checked_sync(model: Any) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=ANSWER))
    http = httpx.Client(transport=transport)
    with (
        OpenAI(api_key="k", base_url=BASE, http_client=http) as p,
        pytest.raises(InvalidRequestError, match="model must be"),
    ):
        p.chat(model=model, messages=[Message.user("hi")])


@pytest.mark.parametrize("model", [None, 123, ""])
async def test_typed_chat_model_is_checked_async(model: Any) -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=ANSWER))
    http = httpx.AsyncClient(transport=transport)
    async with AsyncOpenAI(api_key="k", base_url=BASE, http_client=http) as p:
        with pytest.raises(InvalidRequestError, match="model must be"):
            await p.chat(model=model, messages=[Message.user("hi")])


BAD_OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "api_key-int": ({"api_key": 123}, "api_key is a int"),
    "headers-list": ({"default_headers": [("a", "b")]}, "default_headers is a list"),
    "header-value-int": ({"default_headers": {"X-Key": 1}}, r"default_headers\['X-Key'\]"),
    "retry-str": ({"retry_policy": "none"}, "retry_policy is a str"),
    "retry-negative": ({"retry_policy": {"max_retries": -3}}, r"retry_policy\['max_retries'\]"),
    "retry-typo": ({"retry_policy": {"max_retry": 3}}, "did you mean 'max_retries'"),
    "retry-jitter": ({"retry_policy": {"jitter": 5}}, r"retry_policy\['jitter'\]"),
    "limits-dict": ({"limits": {"max_body_bytes": 5}}, "limits is a dict"),
    "http-client-str": ({"http_client": "x"}, "http_client is a str"),
}


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
def test_bad_create_options_are_refused_sync(name: str) -> None:
    options, message = BAD_OPTIONS[name]
    options = {"api_key": "k", **options}
    with pytest.raises(ConfigurationError, match=message):
        AiClient.create("openai/gpt-4o", **options)
    with pytest.raises(ConfigurationError, match=message):
        OpenAI(**options)


@pytest.mark.parametrize("name", list(BAD_OPTIONS))
async def test_bad_create_options_are_refused_async(name: str) -> None:
    options, message = BAD_OPTIONS[name]
    options = {"api_key": "k", **options}
    with pytest.raises(ConfigurationError, match=message):
        await AsyncAiClient.create("openai/gpt-4o", **options)
    with pytest.raises(ConfigurationError, match=message):
        AsyncOpenAI(**options)


def test_async_http_client_on_a_sync_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="async client"):
        AiClient.create("openai/gpt-4o", api_key="k", http_client=httpx.AsyncClient())


async def test_sync_http_client_on_an_async_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="sync client"):
        await AsyncAiClient.create("openai/gpt-4o", api_key="k", http_client=httpx.Client())


def test_header_value_is_never_shown() -> None:
    with pytest.raises(ConfigurationError) as info:
        AiClient.create("openai/gpt-4o", default_headers={"X-Key": b"sk-secret-123"})  # type: ignore[dict-item]
    assert "sk-secret-123" not in str(info.value)


def test_hostile_thinking_signature_is_not_an_input_error() -> None:
    asm = Assembler()  # a server's non-str signature must not fail the response
    asm.feed(
        [("thinking", 0, {"text": "hm", "signature": 5}), ("thinking_redacted", 0, {"data": 7})]
    )
    asm.finish()
    blocks = asm.response().thinking_blocks
    assert blocks[0].signature is None and blocks[1].data == ""


def test_no_messages_is_an_invalid_request_sync(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(InvalidRequestError, match="at least one"):
        client.chat().execute()


async def test_no_messages_is_an_invalid_request_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(InvalidRequestError, match="at least one"):
            await client.chat().execute()


def test_openai_file_part_becomes_a_document_and_audio_a_block() -> None:
    part = {
        "type": "file",
        "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERg=="},
    }
    msg = Message.from_dict({"role": "user", "content": [part]})
    assert msg.content == [ContentBlock("document", "a.pdf", None, "JVBERg==", "application/pdf")]
    with pytest.raises(InvalidRequestError, match="file_id"):
        Message.from_dict({"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]})
    wav_head = "UklGRgAAAABXQVZF"  # b"RIFF....WAVE": a declared wav must start like one
    audio = {"type": "input_audio", "input_audio": {"data": wav_head, "format": "wav"}}
    assert Message.from_dict({"role": "user", "content": [audio]}).content == [
        ContentBlock("audio", data=wav_head, media_type="audio/wav")
    ]
    audio["input_audio"] = {"data": "AAA=", "format": "m4v"}  # not an audio format
    with pytest.raises(InvalidRequestError, match="unknown audio format"):
        Message.from_dict({"role": "user", "content": [audio]})
