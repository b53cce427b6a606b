"""End-to-end: images and documents in tool results reach the wire where the dialect
takes them (Anthropic ``tool_result`` content blocks, Bedrock ``toolResult`` content),
and a system prompt or tool result holding an image is refused before sending where
that message takes text only (Bedrock Converse system blocks; OpenAI Chat system and tool
messages). Sync and async twins against the loopback mock server.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message
from ailib.errors import ProtocolError
from ailib.testing import MockServer, Scenario
from ailib.types.tools import ToolCall

PNG = b"\x89PNG\r\n\x1a\nchart"
PNG_B64 = base64.b64encode(PNG).decode("ascii")
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _history() -> list[Message]:
    call = ToolCall(id="call_1", function_name="plot", arguments={})
    result = [ContentBlock.text("the chart:"), ContentBlock.image_base64(PNG, "image/png")]
    return [
        Message.user("plot it"),
        Message.assistant("", [call]),
        Message("tool", result, tool_call_id="call_1"),
    ]


# (model, mock dialect, the tool result the server must receive in the last user turn)
CARRIED: dict[str, tuple[str, str, dict[str, Any]]] = {
    "anthropic": (
        "anthropic/claude-sonnet-4-5",
        "anthropic",
        {
            "type": "tool_result",
            "tool_use_id": "call_1",
            "content": [
                {"type": "text", "text": "the chart:"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                },
            ],
        },
    ),
    "bedrock": (
        f"bedrock/{CLAUDE}",
        "bedrock",
        {
            "toolResult": {
                "toolUseId": "call_1",
                "content": [
                    {"text": "the chart:"},
                    {"image": {"format": "png", "source": {"bytes": PNG_B64}}},
                ],
            }
        },
    ),
}


def _received_result(server: MockServer) -> Any:
    return server.requests[-1].json()["messages"][-1]["content"][0]


@pytest.mark.parametrize("case", sorted(CARRIED))
def test_image_in_tool_result_reaches_the_wire_sync(case: str, mock_server: MockServer) -> None:
    model, dialect, expected = CARRIED[case]
    mock_server.push(Scenario(text="a rising line"))
    with AiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect)) as client:
        resp = client.chat().messages(_history()).execute()
    assert resp.content == "a rising line"
    assert _received_result(mock_server) == expected


@pytest.mark.parametrize("case", sorted(CARRIED))
async def test_image_in_tool_result_reaches_the_wire_async(
    case: str, mock_server: MockServer
) -> None:
    model, dialect, expected = CARRIED[case]
    mock_server.push(Scenario(text="a rising line"))
    client = await AsyncAiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect))
    async with client:
        resp = await client.chat().messages(_history()).execute()
    assert resp.content == "a rising line"
    assert _received_result(mock_server) == expected


def _image_system_prompt() -> list[Message]:
    logo = ContentBlock.image_base64(PNG, "image/png")
    return [Message("system", [ContentBlock.text("brand:"), logo]), Message.user("hi")]


def test_image_in_bedrock_system_prompt_is_refused_sync(mock_server: MockServer) -> None:
    client = AiClient.create(f"bedrock/{CLAUDE}", base_url=mock_server.base_url("bedrock"))
    with client, pytest.raises(ProtocolError, match="system messages take text only") as info:
        client.chat().messages(_image_system_prompt()).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []


async def test_image_in_bedrock_system_prompt_is_refused_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create(
        f"bedrock/{CLAUDE}", base_url=mock_server.base_url("bedrock")
    )
    async with client:
        with pytest.raises(ProtocolError, match="system messages take text only") as info:
            await client.chat().messages(_image_system_prompt()).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []


@pytest.mark.parametrize("role", ["system", "tool"])
def test_image_in_openai_chat_text_only_role_is_refused_sync(
    role: str, mock_server: MockServer
) -> None:
    """OpenAI Chat system and tool messages take text parts only."""
    messages = _history() if role == "tool" else _image_system_prompt()
    client = AiClient.create("openai/gpt-4o", api_key="k", base_url=mock_server.base_url("openai"))
    with client, pytest.raises(ProtocolError, match=f"{role} messages take text only") as info:
        client.chat().messages(messages).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []


@pytest.mark.parametrize("role", ["system", "tool"])
async def test_image_in_openai_chat_text_only_role_is_refused_async(
    role: str, mock_server: MockServer
) -> None:
    messages = _history() if role == "tool" else _image_system_prompt()
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="k", base_url=mock_server.base_url("openai")
    )
    async with client:
        with pytest.raises(ProtocolError, match=f"{role} messages take text only") as info:
            await client.chat().messages(messages).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []
