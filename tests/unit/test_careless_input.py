"""Common mistakes become typed errors before sending, or are accepted and converted.

Issue 6 items 5 and 7: sync and async clients, the builder and the typed provider modules.
Every request goes to an httpx.MockTransport that records it, so "nothing was sent" is
checked, and accepted input is checked on the wire.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import ailib
from ailib import AiClient, AsyncAiClient, Message, MessageRole, ToolCall
from ailib.errors import (
    AiLibError,
    CapabilityError,
    ConfigurationError,
    InvalidRequestError,
    ParameterError,
)
from ailib.providers.openai import AsyncOpenAI, OpenAI

BASE = "https://api.example.test/v1"
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


class Wire:
    """Records the JSON bodies of the requests a client sends."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(200, json=ANSWER)

    def client(self, **kw: Any) -> AiClient:
        http = httpx.Client(transport=httpx.MockTransport(self.handler))
        return AiClient.create("openai/gpt-4o", api_key="k", base_url=BASE, http_client=http, **kw)

    async def aclient(self, **kw: Any) -> AsyncAiClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return await AsyncAiClient.create(
            "openai/gpt-4o", api_key="k", base_url=BASE, http_client=http, **kw
        )

    def typed(self) -> OpenAI:
        return OpenAI(api_key="k", base_url=BASE, http_client=httpx.Client(
            transport=httpx.MockTransport(self.handler)))  # fmt: skip

    def atyped(self) -> AsyncOpenAI:
        return AsyncOpenAI(api_key="k", base_url=BASE, http_client=httpx.AsyncClient(
            transport=httpx.MockTransport(self.handler)))  # fmt: skip


@pytest.fixture
def wire() -> Wire:
    return Wire()


# ---- OpenAI-shaped message and tool dicts are accepted ------------------------------------

PASTED: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://x.test/cat.png", "detail": "low"}},
    ]},
    {"role": "assistant", "content": None, "refusal": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "look", "arguments": "{\"q\": \"cat\"}"}},
    ]},
    {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
]  # fmt: skip
TOOL_DICT = {
    "type": "function",
    "function": {
        "name": "look",
        "description": "Look something up",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    },
}


def _check_pasted_on_wire(body: dict[str, Any]) -> None:
    sent = body["messages"]
    assert sent[0] == {"role": "system", "content": "Be brief."}
    assert sent[1]["content"][1]["image_url"]["url"] == "https://x.test/cat.png"
    assert sent[2]["tool_calls"][0]["function"] == {"name": "look", "arguments": '{"q": "cat"}'}
    assert sent[3]["role"] == "tool" and sent[3]["tool_call_id"] == "call_1"
    assert body["tools"][0]["function"]["name"] == "look"
    assert body["tools"][0]["function"]["parameters"]["properties"] == {"q": {"type": "string"}}


def test_dict_messages_and_tools_are_converted_sync(wire: Wire) -> None:
    with wire.client() as client:
        assert client.chat().messages(PASTED).tools([TOOL_DICT]).execute().content == "ok"
    _check_pasted_on_wire(wire.bodies[-1])


async def test_dict_messages_and_tools_are_converted_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        resp = await client.chat().messages(PASTED).tools([TOOL_DICT]).execute()
    assert resp.content == "ok"
    _check_pasted_on_wire(wire.bodies[-1])


def test_dict_messages_and_tools_typed_module_sync(wire: Wire) -> None:
    with wire.typed() as provider:
        provider.chat(model="gpt-4o", messages=PASTED, tools=[TOOL_DICT])
    _check_pasted_on_wire(wire.bodies[-1])


async def test_dict_messages_and_tools_typed_module_async(wire: Wire) -> None:
    async with wire.atyped() as provider:
        await provider.chat(model="gpt-4o", messages=PASTED, tools=[TOOL_DICT])
    _check_pasted_on_wire(wire.bodies[-1])


def test_message_from_dict_converts_every_part() -> None:
    user, assistant = Message.from_dict(PASTED[1]), Message.from_dict(PASTED[2])
    assert user.role is MessageRole.USER and isinstance(user.content, list)
    assert user.content[1].url == "https://x.test/cat.png" and user.content[1].detail == "low"
    assert assistant.tool_calls == [ToolCall.from_raw("call_1", "look", '{"q": "cat"}')]
    assert Message.from_dict({"role": "developer", "content": "x"}) == Message.system("x")
    one = {"type": "text", "text": "hi"}
    assert Message.user([one]) == Message.user([ailib.ContentBlock.text("hi")])  # type: ignore[list-item]


UNCONVERTIBLE = [
    ({"role": "usr", "content": "x"}, "messages[1]['role']"),
    ({"role": "user", "content": 5}, "messages[1]['content']"),
    ({"role": "user", "content": [{"type": "input_audio"}]}, "[0]['input_audio']"),
    ({"role": "user", "content": [{"type": "image_url"}]}, "'image_url'"),
    ({"role": "tool", "content": "x"}, "messages[1]['tool_call_id']"),
    ({"role": "user", "content": "x", "audio": {"id": "a"}}, "messages[1]['audio']"),
    ({"role": "assistant", "tool_calls": [{"id": "c"}]}, "messages[1]['tool_calls'][0]"),
    ({"role": "user", "content": "x", "tool_calls": [{"id": "c"}]}, "only assistant"),
]


@pytest.mark.parametrize(("bad", "named"), UNCONVERTIBLE)
def test_unconvertible_dict_names_index_and_key_sync(
    bad: dict[str, Any], named: str, wire: Wire
) -> None:
    with wire.client() as client, pytest.raises(InvalidRequestError) as info:
        client.chat().messages([{"role": "user", "content": "hi"}, bad]).execute()
    assert named in str(info.value) and info.value.code == "E1001"
    assert wire.bodies == []


@pytest.mark.parametrize(("bad", "named"), UNCONVERTIBLE)
async def test_unconvertible_dict_names_index_and_key_async(
    bad: dict[str, Any], named: str, wire: Wire
) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(InvalidRequestError) as info:
            await client.chat().messages([{"role": "user", "content": "hi"}, bad]).execute()
    assert named in str(info.value)
    assert wire.bodies == []


def test_bad_tool_dict_is_typed(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(InvalidRequestError, match="tools"):
        client.chat().user("hi").tools(TOOL_DICT)  # type: ignore[arg-type]
    with wire.client() as client, pytest.raises(InvalidRequestError, match=r"tools\[0\]"):
        client.chat().user("hi").tools(["look"])  # type: ignore[list-item]
    with wire.client() as client, pytest.raises(InvalidRequestError, match="function name"):
        client.chat().user("hi").tools([{"type": "function", "function": {}}])
    assert wire.bodies == []


# ---- mistakes refused before sending: builder, sync and async -----------------------------

BuilderStep = Callable[[Any], Any]
BUILDER_MISTAKES: dict[str, tuple[BuilderStep, str]] = {
    "messages-str": (lambda b: b.messages("hi"), "not a str"),
    "messages-one-dict": (lambda b: b.messages({"role": "user", "content": "hi"}), "wrap it"),
    "messages-int-item": (lambda b: b.messages([Message.user("a"), 3]), r"messages\[1\]"),
    "user-int": (lambda b: b.user(123), "got int"),
    "system-none-list": (lambda b: b.system([1]), r"content\[0\]"),
    "param-set": (lambda b: b.param("metadata", {1, 2}), "'metadata'.*set"),
    "param-datetime": (lambda b: b.param("metadata", {"at": datetime.datetime(2026, 1, 1)}), "datetime"),
    "param-object": (lambda b: b.param("user", object()), "'user'.*object"),
    "extra-body-set": (lambda b: b.extra_body({"x": {1}}), r"extra_body\['x'\]"),
    "extra-body-str": (lambda b: b.extra_body("x=1"), "extra_body must be a dict"),
    "temperature-nan": (lambda b: b.temperature(float("nan")), "'temperature'.*nan"),
    "top-p-inf": (lambda b: b.top_p(math.inf), "'top_p'.*inf"),
    "stop-ints": (lambda b: b.stop([1, 2]), "'stop' must be a str or a list of str"),
    "stop-int": (lambda b: b.stop(3), "'stop'"),
    "reasoning-extreme": (lambda b: b.reasoning("extreme"), "'minimal', 'low', 'medium', 'high'"),
    "reasoning-float": (lambda b: b.reasoning(1.5), "reasoning must be"),
    "reasoning-negative": (lambda b: b.reasoning(-5), ">= 0"),
    "reasoning-dict-effort": (lambda b: b.reasoning({"effort": "max"}), r"reasoning\['effort'\]"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BUILDER_MISTAKES))
def test_builder_mistake_is_typed_sync(case: str, wire: Wire) -> None:
    step, message = BUILDER_MISTAKES[case]
    with wire.client() as client, pytest.raises(InvalidRequestError, match=message) as info:
        step(client.chat().user("hi")).execute()
    assert info.value.code == "E1001"
    assert wire.bodies == []


@pytest.mark.parametrize("case", sorted(BUILDER_MISTAKES))
async def test_builder_mistake_is_typed_async(case: str, wire: Wire) -> None:
    step, message = BUILDER_MISTAKES[case]
    async with await wire.aclient() as client:
        with pytest.raises(InvalidRequestError, match=message) as info:
            await step(client.chat().user("hi")).execute()
    assert info.value.code == "E1001"
    assert wire.bodies == []


def test_message_with_unknown_role_lists_the_roles() -> None:
    with pytest.raises(InvalidRequestError) as info:
        Message("usr", "hi")  # type: ignore[arg-type]
    assert "'system', 'user', 'assistant', 'tool'" in str(info.value)
    assert "'usr'" in str(info.value)
    with pytest.raises(InvalidRequestError, match="tool_calls"):
        Message(MessageRole.ASSISTANT, "", ["call"])  # type: ignore[list-item]
    with pytest.raises(InvalidRequestError, match="tool_call_id must be a str"):
        Message(MessageRole.TOOL, "x", tool_call_id=5)  # type: ignore[arg-type]


# ---- typed provider modules: the same checks in chat(...) ---------------------------------

TYPED_MISTAKES: dict[str, tuple[dict[str, Any], str]] = {
    "messages-str": ({"messages": "hi"}, "messages must be a list"),
    "messages-bad-dict": ({"messages": [{"role": "usr", "content": "x"}]}, r"messages\[0\]"),
    "temperature-nan": ({"temperature": float("nan")}, "'temperature'"),
    "stop-ints": ({"stop": [1, 2]}, "'stop'"),
    "reasoning-extreme": ({"model": "o3", "reasoning": "extreme"}, "'high'"),
    "metadata-set": ({"metadata": {"a": {1}}}, "'metadata'"),
    "extra-body-object": ({"extra_body": {"x": object()}}, r"extra_body\['x'\]"),
    "tools-str": ({"tools": "look"}, "tools must be a list"),
}


def _typed_kwargs(case: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": [Message.user("hi")]}
    kwargs.update(TYPED_MISTAKES[case][0])
    return kwargs


@pytest.mark.parametrize("case", sorted(TYPED_MISTAKES))
def test_typed_chat_mistake_is_typed_sync(case: str, wire: Wire) -> None:
    with wire.typed() as provider, pytest.raises(InvalidRequestError) as info:
        provider.chat(**_typed_kwargs(case))
    assert info.value.code == "E1001"
    assert re.search(TYPED_MISTAKES[case][1], str(info.value))
    assert wire.bodies == []


@pytest.mark.parametrize("case", sorted(TYPED_MISTAKES))
async def test_typed_chat_mistake_is_typed_async(case: str, wire: Wire) -> None:
    async with wire.atyped() as provider:
        with pytest.raises(InvalidRequestError, match=TYPED_MISTAKES[case][1]):
            await provider.chat(**_typed_kwargs(case))
    assert wire.bodies == []


# ---- create() and the provider constructors -----------------------------------------------

CREATE_MISTAKES: dict[str, tuple[dict[str, Any], str]] = {
    "timeout-str": ({"timeout": "10"}, "timeout is '10'"),
    "timeout-negative": ({"timeout": -1}, "positive"),
    "timeout-nan": ({"timeout": float("nan")}, "positive"),
    "timeout-bool": ({"timeout": True}, "timeout"),
    "max-retries-negative": ({"max_retries": -1}, "max_retries is -1"),
    "max-retries-float": ({"max_retries": 2.5}, "max_retries"),
}


@pytest.mark.parametrize("case", sorted(CREATE_MISTAKES))
def test_create_mistake_is_typed_sync(case: str) -> None:
    kwargs, message = CREATE_MISTAKES[case]
    with pytest.raises(ConfigurationError, match=message) as info:
        AiClient.create("openai/gpt-4o", api_key="k", **kwargs)
    assert info.value.code == "E1001"
    with pytest.raises(ConfigurationError, match=message):
        OpenAI(api_key="k", **kwargs)


@pytest.mark.parametrize("case", sorted(CREATE_MISTAKES))
async def test_create_mistake_is_typed_async(case: str) -> None:
    kwargs, message = CREATE_MISTAKES[case]
    with pytest.raises(ConfigurationError, match=message):
        await AsyncAiClient.create("openai/gpt-4o", api_key="k", **kwargs)
    with pytest.raises(ConfigurationError, match=message):
        AsyncOpenAI(api_key="k", **kwargs)


def test_create_none_model_is_typed_sync() -> None:
    for model in (None, 42):
        with pytest.raises(InvalidRequestError, match="model is a"):
            AiClient.create(model)  # type: ignore[arg-type]


async def test_create_none_model_is_typed_async() -> None:
    with pytest.raises(InvalidRequestError, match="model is a NoneType"):
        await AsyncAiClient.create(None)  # type: ignore[arg-type]


def test_valid_options_still_work(wire: Wire) -> None:
    with wire.client(timeout=httpx.Timeout(5.0), max_retries=0) as client:
        resp = client.chat().user("hi").stop("x").reasoning(False).param("seed", 1).execute()
    assert resp.content == "ok"
    assert wire.bodies[-1]["stop"] == "x"


# ---- item 7: error codes and exports ------------------------------------------------------


def test_undeclared_parameter_is_invalid_request_sync(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(ParameterError) as info:
        client.chat().user("hi").param("temprature", 0.2).execute()
    assert (info.value.code, info.value.name) == ("E1001", "invalid_request")
    assert isinstance(info.value, InvalidRequestError)
    assert "did you mean 'temperature'" in str(info.value)


async def test_undeclared_parameter_is_invalid_request_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        with pytest.raises(ParameterError) as info:
            await client.chat().user("hi").param("max_tokenz", 5).execute()
    assert info.value.code == "E1001"


def test_capability_refusal_keeps_e1005_and_names_the_capability(wire: Wire) -> None:
    with wire.client() as client, pytest.raises(CapabilityError) as info:
        client.chat().user("hi").reasoning("low").execute()  # gpt-4o declares no reasoning
    assert info.value.code == "E1005" and "'reasoning'" in str(info.value)
    assert wire.bodies == []


def test_error_classes_are_exported_from_ailib() -> None:
    for name in ("CapabilityError", "ManifestError", "StreamDecodeError", "InvalidRequestError"):
        assert name in ailib.__all__
        value = getattr(ailib, name)
        assert issubclass(value, AiLibError) and value is getattr(ailib.errors, name)
    from ailib import CapabilityError as Exported

    assert Exported is CapabilityError


def test_undeclared_capability_parameter_names_the_capability() -> None:
    from ailib.protocol.manifest import Manifest
    from ailib.runtime.params import check_params

    bare = Manifest.from_dict({"id": "bare", "parameters": {"temperature": {"type": "float"}}})
    with pytest.raises(CapabilityError) as info:
        check_params(bare, {"reasoning": "medium"})
    assert info.value.code == "E1005" and "'reasoning' capability" in str(info.value)
    with pytest.raises(ParameterError) as typo:
        check_params(bare, {"temperatur": 0.1})
    assert typo.value.code == "E1001"


def test_single_message_dict_sync(wire: Wire) -> None:
    with wire.client() as client:
        client.chat().message({"role": "user", "content": "hi"}).execute()
        with pytest.raises(InvalidRequestError, match=r"message\['role'\]"):
            client.chat().message({"role": "bot", "content": "hi"})
        with pytest.raises(InvalidRequestError, match="message must be a Message"):
            client.chat().message("hi")  # type: ignore[arg-type]
    assert wire.bodies[-1]["messages"] == [{"role": "user", "content": "hi"}]


async def test_single_message_dict_async(wire: Wire) -> None:
    async with await wire.aclient() as client:
        await client.chat().message({"role": "user", "content": "hi"}).execute()
        with pytest.raises(InvalidRequestError, match=r"message\['role'\]"):
            client.chat().message({"role": "bot", "content": "hi"})
    assert wire.bodies[-1]["messages"] == [{"role": "user", "content": "hi"}]
