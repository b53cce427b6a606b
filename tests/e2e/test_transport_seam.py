"""The transport seam: an httpx-compatible client from another package carries requests."""

from __future__ import annotations

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError, StreamInterruptedError, TransportError
from ailib.testing import MockServer, Scenario

httpx2 = pytest.importorskip("httpx2")


def test_httpx2_client_sync(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="one two"), Scenario(status=429, retry_after=4))
    with AiClient.create(
        "anthropic/claude-sonnet-4-5",
        api_key="k",
        base_url=mock_server.base_url("anthropic"),
        http_client=httpx2.Client(),
        max_retries=0,
    ) as client:
        with client.chat().user("x").stream() as stream:
            assert "".join(e.as_content_delta.content for e in stream if e.is_content_delta) == (
                "one two"
            )
        with pytest.raises(RemoteError) as info:
            client.chat().user("x").execute()
    assert info.value.code == "E2001" and info.value.retry_after == 4


async def test_httpx2_client_async(mock_server: MockServer) -> None:
    client = await AsyncAiClient.create(
        "openai/gpt-4o",
        api_key="k",
        base_url=mock_server.base_url("openai"),
        http_client=httpx2.AsyncClient(),
    )
    async with client:
        assert (await client.chat().user("hi").execute()).content == "echo: hi"
        mock_server.push(Scenario(text="a b c d e f", cut_after=2))
        with pytest.raises(StreamInterruptedError):
            async with client.chat().user("x").stream() as stream:
                async for _ in stream:
                    pass


def test_httpx2_connection_error_is_classified() -> None:
    with (
        AiClient.create(
            "openai/gpt-4o",
            api_key="k",
            base_url="http://127.0.0.1:9/v1",
            http_client=httpx2.Client(),
            max_retries=0,
        ) as client,
        pytest.raises(TransportError) as info,
    ):
        client.chat().user("x").execute()
    assert info.value.code == "E3001" and info.value.retryable
