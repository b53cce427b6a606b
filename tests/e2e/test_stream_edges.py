"""Stream edge cases: malformed bytes, errors inside 200 streams, missing end markers, CLI."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError, StreamDecodeError, StreamInterruptedError
from ailib.testing import MockServer, Scenario


def _sse_client(body: bytes) -> AiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return AiClient.create(
        "openai/gpt-4o",
        api_key="k",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    )


def test_malformed_event_data_names_offset_and_bytes() -> None:
    good = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    body = good + b"data: {not json\n\n"
    client = _sse_client(body)
    with (
        client,
        pytest.raises(StreamDecodeError) as info,
        client.chat().user("x").stream() as stream,
    ):
        list(stream)
    assert info.value.offset == len(body)
    assert b"{not json" in info.value.data and "{not json" in str(info.value)


def test_missing_end_marker_is_an_interruption_with_partial() -> None:
    body = b'data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
    client = _sse_client(body)
    with (
        client,
        pytest.raises(StreamInterruptedError) as info,
        client.chat().user("x").stream() as stream,
    ):
        list(stream)
    assert info.value.partial is not None and info.value.partial.content == "Hi"


@pytest.mark.parametrize(
    "provider,model", [("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-5")]
)
def test_error_inside_200_stream_sync(mock_server: MockServer, provider: str, model: str) -> None:
    mock_server.push(Scenario(text="partial answer", stream_error={"message": "Overloaded"}))
    with (
        AiClient.create(
            f"{provider}/{model}", api_key="k", base_url=mock_server.base_url(provider)
        ) as client,
        pytest.raises(RemoteError) as info,
        client.chat().user("x").stream() as stream,
    ):
        list(stream)
    err = info.value
    assert err.status is None and err.message == "Overloaded"
    # the mock sends OpenAI type "server_error" and Anthropic type "overloaded_error"
    assert err.code == {"openai": "E3001", "anthropic": "E3002"}[provider] and err.retryable


async def test_error_inside_200_stream_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="partial", stream_error={"message": "Overloaded"}))
    client = await AsyncAiClient.create(
        "anthropic/claude-sonnet-4-5", api_key="k", base_url=mock_server.base_url("anthropic")
    )
    async with client:
        with pytest.raises(RemoteError) as info:
            async with client.chat().user("x").stream() as stream:
                async for _ in stream:
                    pass
    assert info.value.code == "E3002"  # overloaded_error


async def test_slow_chunks_arrive_in_order_async(mock_server: MockServer) -> None:
    mock_server.push(Scenario(text="a b c d", chunk_delay=0.01))
    async with (
        await AsyncAiClient.create("mock/echo", base_url=mock_server.base_url("mock")) as client,
        client.chat().user("x").stream() as stream,
    ):
        parts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
    assert "".join(parts) == "a b c d" and len(parts) == 4


def test_cli_chat_against_builtin_mock() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ailib.cli", "chat", "--model", "mock/echo", "--usage", "Hello CLI"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "echo: Hello CLI"
    assert "tokens in=" in result.stderr


def test_cli_reports_errors_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ailib.cli", "chat", "--model", "nope/x", "hi"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "unknown provider 'nope'" in result.stderr


def test_numeric_error_code_in_stream_classifies_as_status_and_keeps_partial() -> None:
    body = (
        b": OPENROUTER PROCESSING\n\n"
        b'data: {"choices":[{"index":0,"delta":{"content":"Half an"}}]}\n\n'
        b'data: {"error":{"code":429,"message":"Rate limited upstream"},"choices":[]}\n\n'
        b"data: [DONE]\n\n"
    )
    client = _sse_client(body)
    with client, pytest.raises(RemoteError) as info, client.chat().user("x").stream() as s:
        list(s)
    err = info.value
    assert err.code == "E2001" and err.status == 429 and err.retryable
    assert err.partial is not None and err.partial.content == "Half an"


def test_error_header_names_the_code() -> None:
    from ailib.providers.openai import SPEC
    from ailib.runtime.classify import classify
    from ailib.runtime.spec import error_tables

    manifest = SPEC.manifest.with_overrides(
        {
            "error_classification": {
                "error_code_headers": ["x-amzn-errortype"],
                "by_error_code": {"ThrottlingException": "rate_limited"},
            }
        },
        "test",
    )
    tables = error_tables(manifest)
    err = classify(
        tables,
        status=400,
        body={"message": "slow down"},
        headers={"x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/"},
    )
    assert err.code == "E2001" and err.provider_code == "ThrottlingException"
