"""A stream's failure before its first content is a failed attempt: retried, or fallen
back, with nothing of the failed attempt shown to the caller; after the first content
it is raised with the partial, never retried. Sync and async twins, loopback mock."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError
from ailib.resilience import CancellableStream, FallbackTarget, RetryConfig, create_cancel_pair
from ailib.testing import MockServer, Scenario

FAST = {"min_delay_ms": 1, "max_delay_ms": 5}
EARLY_ERROR = Scenario(text="", stream_error={"message": "the server had an error"})
OVERLOADED = Scenario(text="", stream_error={"type": "overloaded_error", "message": "Overloaded"})


@pytest.fixture
def server() -> Any:
    with MockServer() as srv:
        yield srv


def sync_client(server: MockServer, provider: str = "openai", **options: Any) -> AiClient:
    model = "openai/gpt-4o" if provider == "openai" else "anthropic/claude-sonnet-4-5"
    return AiClient.create(
        model, api_key="sk-test", base_url=server.base_url(provider), retry_policy=FAST, **options
    )


async def async_client(server: MockServer, provider: str = "openai", **options: Any) -> Any:
    model = "openai/gpt-4o" if provider == "openai" else "anthropic/claude-sonnet-4-5"
    return await AsyncAiClient.create(
        model, api_key="sk-test", base_url=server.base_url(provider), retry_policy=FAST, **options
    )


def read_sync(client: AiClient) -> tuple[str, Any]:
    with client.chat().user("hi").stream() as stream:
        texts = [e.as_content_delta.content for e in stream if e.is_content_delta]
    return "".join(texts), stream


async def read_async(client: Any) -> tuple[str, Any]:
    async with client.chat().user("hi").stream() as stream:
        texts = [e.as_content_delta.content async for e in stream if e.is_content_delta]
    return "".join(texts), stream


# ---- before the first content: retried ---------------------------------------------------


@pytest.mark.parametrize(
    "first", [EARLY_ERROR, Scenario(cut_after=0)], ids=["error-event", "connection-cut"]
)
def test_a_failure_before_the_first_content_is_retried_sync(
    server: MockServer, first: Scenario
) -> None:
    server.push(first)
    with sync_client(server) as client:
        text, stream = read_sync(client)
    assert text == "echo: hi" and stream.final_response().content == "echo: hi"
    assert stream.context.attempt == 2 and len(server.requests) == 2


@pytest.mark.parametrize(
    "first", [EARLY_ERROR, Scenario(cut_after=0)], ids=["error-event", "connection-cut"]
)
def test_a_failure_before_the_first_content_is_retried_async(
    server: MockServer, first: Scenario
) -> None:
    async def run() -> tuple[str, Any]:
        server.push(first)
        async with await async_client(server) as client:
            text, stream = await read_async(client)
            assert (await stream.final_response()).content == "echo: hi"
            return text, stream

    text, stream = asyncio.run(run())
    assert text == "echo: hi" and stream.context.attempt == 2 and len(server.requests) == 2


def test_anthropic_overloaded_after_message_start_is_retried_sync(server: MockServer) -> None:
    with sync_client(server, "anthropic") as client:
        with client.chat().user("hi").stream() as clean:  # the same answer, no failure
            clean_kinds = [e.kind for e in clean]
        server.push(OVERLOADED)
        with client.chat().user("hi").stream() as stream:
            kinds = [e.kind for e in stream]
    assert stream.final_response().content == "echo: hi" and len(server.requests) == 3
    # the failed attempt's message_start (a usage event) was held back, not delivered
    assert kinds == clean_kinds and kinds.count("usage") >= 1


def test_anthropic_overloaded_after_message_start_is_retried_async(server: MockServer) -> None:
    async def run() -> str:
        server.push(OVERLOADED)
        async with await async_client(server, "anthropic") as client:
            text, _ = await read_async(client)
            return text

    assert asyncio.run(run()) == "echo: hi" and len(server.requests) == 2


# ---- after the first content, or not retryable: raised -----------------------------------


def test_an_error_after_content_is_raised_with_the_partial_sync(server: MockServer) -> None:
    server.push(Scenario(text="a b", stream_error={"message": "late"}))
    with sync_client(server) as client, pytest.raises(RemoteError) as info:
        read_sync(client)
    assert info.value.partial is not None and info.value.partial.content == "a b"
    assert len(server.requests) == 1


def test_an_error_after_content_is_raised_with_the_partial_async(server: MockServer) -> None:
    async def run() -> None:
        server.push(Scenario(text="a b", stream_error={"message": "late"}))
        async with await async_client(server) as client:
            await read_async(client)

    with pytest.raises(RemoteError) as info:
        asyncio.run(run())
    assert info.value.partial is not None and info.value.partial.content == "a b"
    assert len(server.requests) == 1


BAD_REQUEST = Scenario(
    text="", stream_error={"message": "bad", "type": "invalid_request_error", "code": 400}
)


def test_a_non_retryable_early_error_is_raised_at_once_sync(server: MockServer) -> None:
    server.push(BAD_REQUEST)
    with sync_client(server) as client, pytest.raises(RemoteError) as info:
        read_sync(client)
    assert not info.value.retryable and len(server.requests) == 1


def test_a_non_retryable_early_error_is_raised_at_once_async(server: MockServer) -> None:
    async def run() -> None:
        server.push(BAD_REQUEST)
        async with await async_client(server) as client:
            await read_async(client)

    with pytest.raises(RemoteError) as info:
        asyncio.run(run())
    assert not info.value.retryable and len(server.requests) == 1


# ---- before the first content: a fallback serves the stream -----------------------------


def test_an_early_stream_error_falls_back_sync(server: MockServer) -> None:
    with MockServer() as other:
        target = FallbackTarget(
            "openai/gpt-4o-mini", api_key="sk-other", base_url=other.base_url("openai")
        )
        client = (
            AiClient.builder()
            .model("openai/gpt-4o")
            .api_key("sk-test")
            .base_url(server.base_url("openai"))
            .with_retry(RetryConfig(max_retries=0))
            .with_fallbacks([target])
            .build()
        )
        server.push(EARLY_ERROR)
        with client:
            text, stream = read_sync(client)
        assert text == "echo: hi" and stream.served_by == "openai/gpt-4o-mini"
        assert len(server.requests) == 1 and len(other.requests) == 1


def test_an_early_stream_error_falls_back_async(server: MockServer) -> None:
    async def run() -> tuple[str, Any, int]:
        with MockServer() as other:
            target = FallbackTarget(
                "openai/gpt-4o-mini", api_key="sk-other", base_url=other.base_url("openai")
            )
            client = await (
                AsyncAiClient.builder()
                .model("openai/gpt-4o")
                .api_key("sk-test")
                .base_url(server.base_url("openai"))
                .with_retry(RetryConfig(max_retries=0))
                .with_fallbacks([target])
                .build()
            )
            server.push(EARLY_ERROR)
            async with client:
                text, stream = await read_async(client)
            return text, stream, len(other.requests)

    text, stream, served = asyncio.run(run())
    assert text == "echo: hi" and stream.served_by == "openai/gpt-4o-mini" and served == 1


# ---- closed while it opens (between retries): nothing more is sent, its slot is freed ------


def _slow_retry_builder(builder: Any, server: MockServer) -> Any:
    return (
        builder.model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
        .with_retry(RetryConfig(max_retries=2, min_delay_ms=1500, max_delay_ms=1500))
        .max_inflight(1, queue_timeout_seconds=0.5)
    )


def test_a_close_between_retries_sends_nothing_more_sync(server: MockServer) -> None:
    server.push(Scenario(status=500))
    with _slow_retry_builder(AiClient.builder(), server).build() as client:
        token, _ = create_cancel_pair()
        cancellable = CancellableStream(client.chat().user("hi").stream(), token)
        timer = threading.Timer(0.3, cancellable.close)
        timer.start()
        started = time.monotonic()
        assert list(cancellable) == []
        timer.join()
        context = cancellable.stream.context
        assert context.finished and context.closed_early
        assert len(server.requests) == 1 and time.monotonic() - started < 5
        assert client.current_inflight == 0
        assert client.chat().user("next").execute().content == "echo: next"


def test_a_close_between_retries_sends_nothing_more_async(server: MockServer) -> None:
    async def run() -> None:
        server.push(Scenario(status=500))
        async with await _slow_retry_builder(AsyncAiClient.builder(), server).build() as client:
            token, _ = create_cancel_pair()
            cancellable = CancellableStream(client.chat().user("hi").stream(), token)
            closer = asyncio.get_running_loop().call_later(
                0.3, lambda: asyncio.ensure_future(cancellable.aclose())
            )
            events = [event async for event in cancellable]
            closer.cancel()
            assert events == [] and len(server.requests) == 1
            assert client.current_inflight == 0
            assert (await client.chat().user("next").execute()).content == "echo: next"

    asyncio.run(asyncio.wait_for(run(), 10))


# ---- a stream whose opening failed cannot be opened again --------------------------------


def test_a_failed_stream_cannot_be_reopened_sync(server: MockServer) -> None:
    server.push(BAD_REQUEST)
    with sync_client(server) as client:
        stream = client.chat().user("hi").stream()
        with pytest.raises(RemoteError):
            stream.__enter__()
        with pytest.raises(RuntimeError, match="start a new stream"):
            stream.__enter__()
    assert len(server.requests) == 1


def test_a_failed_stream_cannot_be_reopened_async(server: MockServer) -> None:
    async def run() -> None:
        server.push(BAD_REQUEST)
        async with await async_client(server) as client:
            stream = client.chat().user("hi").stream()
            with pytest.raises(RemoteError):
                await stream.__aenter__()
            with pytest.raises(RuntimeError, match="start a new stream"):
                await stream.__aenter__()

    asyncio.run(run())
    assert len(server.requests) == 1
