"""End-to-end: documents reach the wire (Responses ``input_file``, Bedrock ``document``)
or are refused before anything is sent (Cohere, Ollama). Sync and async twins against
the loopback mock server; the request body the server received is checked.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, ContentBlock, Message
from ailib.errors import ProtocolError
from ailib.testing import MockServer, Scenario

PDF = b"%PDF-1.7\nquarterly numbers\n"
PDF_B64 = base64.b64encode(PDF).decode("ascii")
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _ask(doc: ContentBlock) -> list[Message]:
    return [Message.user([ContentBlock.text("Sum up"), doc])]


INLINE = ContentBlock.document(PDF, "application/pdf", title="q3.pdf")
BY_URL = ContentBlock.document(url="https://example.com/q3.pdf")
IN_S3 = ContentBlock.document(url="s3://reports/q3.pdf")

# (model, mock dialect, document, the content part the server must receive)
CARRIED: dict[str, tuple[str, str, ContentBlock, dict[str, Any]]] = {
    "responses-inline": (
        "openai-responses/gpt-5",
        "responses",
        INLINE,
        {
            "type": "input_file",
            "filename": "q3.pdf",
            "file_data": f"data:application/pdf;base64,{PDF_B64}",
        },
    ),
    "responses-url": (
        "openai-responses/gpt-5",
        "responses",
        BY_URL,
        {"type": "input_file", "file_url": "https://example.com/q3.pdf"},
    ),
    "bedrock-inline": (
        f"bedrock/{CLAUDE}",
        "bedrock",
        INLINE,
        {"document": {"format": "pdf", "name": "q3", "source": {"bytes": PDF_B64}}},
    ),
    "bedrock-s3": (
        f"bedrock/{CLAUDE}",
        "bedrock",
        IN_S3,
        {
            "document": {
                "format": "pdf",
                "name": "document",
                "source": {"s3Location": {"uri": "s3://reports/q3.pdf"}},
            }
        },
    ),
}


def _received_part(server: MockServer) -> Any:
    body = server.requests[-1].json()
    turns = body["input"] if "input" in body else body["messages"]
    return turns[-1]["content"][1]


@pytest.mark.parametrize("case", sorted(CARRIED))
def test_document_reaches_the_wire_sync(case: str, mock_server: MockServer) -> None:
    model, dialect, doc, part = CARRIED[case]
    mock_server.push(Scenario(text="summed up"))
    with AiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect)) as client:
        resp = client.chat().messages(_ask(doc)).execute()
    assert resp.content == "summed up"
    assert _received_part(mock_server) == part


@pytest.mark.parametrize("case", sorted(CARRIED))
async def test_document_reaches_the_wire_async(case: str, mock_server: MockServer) -> None:
    model, dialect, doc, part = CARRIED[case]
    mock_server.push(Scenario(text="summed up"))
    client = await AsyncAiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect))
    async with client:
        resp = await client.chat().messages(_ask(doc)).execute()
    assert resp.content == "summed up"
    assert _received_part(mock_server) == part


# (model, mock dialect, document) that the wire cannot carry: refused, nothing sent
REFUSED = {
    "cohere-inline": ("cohere/command-a-03-2025", "cohere", INLINE),
    "ollama-inline": ("ollama/llama3.1", "ollama", INLINE),
    "bedrock-url": (f"bedrock/{CLAUDE}", "bedrock", BY_URL),
    "responses-reference": (
        "openai-responses/gpt-5",
        "responses",
        ContentBlock.document(url="upload://file-123"),
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_document_the_wire_cannot_carry_is_refused_sync(case: str, mock_server: MockServer) -> None:
    model, dialect, doc = REFUSED[case]
    client = AiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect))
    with client, pytest.raises(ProtocolError) as info:
        client.chat().messages(_ask(doc)).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_document_the_wire_cannot_carry_is_refused_async(
    case: str, mock_server: MockServer
) -> None:
    model, dialect, doc = REFUSED[case]
    client = await AsyncAiClient.create(model, api_key="k", base_url=mock_server.base_url(dialect))
    async with client:
        with pytest.raises(ProtocolError) as info:
            await client.chat().messages(_ask(doc)).execute()
    assert info.value.code == "E1001"
    assert mock_server.requests == []
