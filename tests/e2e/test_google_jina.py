"""The AI-Protocol ids `google` (Gemini API) and `jina` (embeddings), sync and async."""

from __future__ import annotations

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import CapabilityError
from ailib.providers.google import AsyncGoogle, Google
from ailib.testing import MockServer, Scenario
from ailib.types.messages import Message


def test_google_speaks_the_gemini_api_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="hi", reasoning="thought"))
    with Google(api_key="g-key", base_url=mock_server.base_url("gemini")) as provider:
        resp = provider.chat(model="gemini-3-pro", messages=[Message.user("x")], reasoning="low")
    assert (resp.content, resp.reasoning) == ("hi", "thought")
    req = mock_server.requests[-1]
    assert req.path == "/v1beta/models/gemini-3-pro:generateContent"
    assert req.headers["x-goog-api-key"] == "g-key"


async def test_google_speaks_the_gemini_api_async(mock_server: MockServer) -> None:
    async with AsyncGoogle(api_key="g-key", base_url=mock_server.base_url("gemini")) as provider:
        stream = await provider.chat(
            model="gemini-3-flash", messages=[Message.user("yo")], stream=True
        )
        async with stream:
            text = "".join([e.as_content_delta.content async for e in stream if e.is_content_delta])
    assert text == "echo: yo"


def test_jina_embeds_and_refuses_chat_sync(mock_server: MockServer) -> None:
    with EmbeddingClient.create(
        "jina/jina-embeddings-v3", api_key="j", base_url=mock_server.base_url("openai")
    ) as client:
        resp = client.embed_batch(["hello", "world"], input_type="search_query", dimensions=64)
    assert len(resp.embeddings) == 2 and resp.first.vector
    body = mock_server.requests[-1].json()
    assert body["task"] == "retrieval.query" and body["dimensions"] == 64
    assert body["embedding_type"] == "float"
    with (
        AiClient.create("jina/jina-embeddings-v3", api_key="j") as chat,
        pytest.raises(CapabilityError),
    ):
        chat.chat().user("hi").execute()


async def test_jina_embeds_async(mock_server: MockServer) -> None:
    client = await AsyncEmbeddingClient.create(
        "jina/jina-embeddings-v3", api_key="j", base_url=mock_server.base_url("openai")
    )
    async with client:
        resp = await client.embed("hello")
    assert resp.first.vector and mock_server.requests[-1].headers["authorization"] == "Bearer j"
    chat = await AsyncAiClient.create("jina/jina-embeddings-v3", api_key="j")
    async with chat:
        with pytest.raises(CapabilityError):
            await chat.chat().user("hi").execute()
