"""Manifest dialect_options: DeepSeek gets its reasoning back on tool-call turns."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from ailib import AiClient, AsyncAiClient, ContentBlock, Message, ToolCall
from ailib.dialects import ChatRequest, get_dialect

FIXTURE = (
    Path(__file__).parents[1] / "fixtures/corpus/deepseek/deepseek-tools-reasoning-followup.json"
)


def _history() -> list[Message]:
    call = ToolCall.from_raw("call_1", "roll", '{"sides": 6}')
    thinking = [ContentBlock.thinking("I should roll."), ContentBlock.text("Rolling!")]
    return [Message.user("roll"), Message.assistant(thinking, [call]), Message.tool("call_1", "4")]


def test_openai_dialect_replays_reasoning_only_when_asked() -> None:
    encode = get_dialect("openai_chat")
    plain = encode(ChatRequest("m", _history()))["messages"][1]
    assert "reasoning_content" not in plain and plain["content"] == "Rolling!"
    options = {"replay_reasoning": "reasoning_content"}
    asked = encode(ChatRequest("m", _history(), options=options))["messages"][1]
    assert asked["reasoning_content"] == "I should roll." and asked["content"] == "Rolling!"
    bare = Message.assistant("", [ToolCall.from_raw("c2", "roll", "{}")])
    empty = encode(ChatRequest("m", [Message.user("x"), bare], options=options))["messages"][1]
    assert empty["reasoning_content"] == "" and empty["content"] is None


def _recorder(seen: list[dict]) -> httpx.MockTransport:
    body = json.loads(FIXTURE.read_text())["response"]["body_text"]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "application/json"}, content=body)

    return httpx.MockTransport(handler)


def test_deepseek_manifest_replays_reasoning_sync() -> None:
    seen: list[dict] = []
    with AiClient.create(
        "deepseek/deepseek-reasoner",
        api_key="k",
        http_client=httpx.Client(transport=_recorder(seen)),
    ) as client:
        client.chat().messages(_history()).execute()
    assert seen[0]["messages"][1]["reasoning_content"] == "I should roll."


async def test_deepseek_manifest_replays_reasoning_async() -> None:
    seen: list[dict] = []
    client = await AsyncAiClient.create(
        "deepseek/deepseek-reasoner",
        api_key="k",
        http_client=httpx.AsyncClient(transport=_recorder(seen)),
    )
    async with client:
        await client.chat().messages(_history()).execute()
    assert seen[0]["messages"][1]["reasoning_content"] == "I should roll."
