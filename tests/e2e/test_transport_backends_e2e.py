"""The same behaviour on every installed transport backend (httpx, httpx2, aiohttp):
answers, streams, typed errors, timeouts, refused connections, streams closed early.
Sync twins run on the backends with a sync client (aiohttp is async only)."""

from __future__ import annotations

import socket
import time
from importlib.util import find_spec

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import RemoteError, TransportError
from ailib.testing import MockServer, Scenario

BACKENDS = [n for n in ("httpx", "httpx2", "aiohttp") if find_spec(n) is not None]
SYNC_BACKENDS = [n for n in BACKENDS if n != "aiohttp"]
WAIT = 10.0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _options(server: MockServer, backend: str, **more: object) -> dict[str, object]:
    return {"api_key": "k", "base_url": server.base_url("openai"), "transport": backend, **more}


def _wait_aborted(server: MockServer, count: int) -> int:
    deadline = time.monotonic() + WAIT
    while server.aborted_streams < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return server.aborted_streams


@pytest.mark.parametrize("backend", BACKENDS)
async def test_answers_streams_and_errors_async(mock_server: MockServer, backend: str) -> None:
    mock_server.push(
        Scenario(text="one two three"),
        Scenario(text="x", headers={"x-request-id": "req-7"}),
        Scenario(status=429, retry_after=3),
    )
    options = _options(mock_server, backend, max_retries=0)
    async with await AsyncAiClient.create("openai/gpt-4o", **options) as c:  # type: ignore[arg-type]
        parts = []
        async with c.chat().user("s").stream() as stream:
            async for event in stream:
                if event.is_content_delta:
                    parts.append(event.as_content_delta.content)
        assert "".join(parts) == "one two three"
        answer = await c.chat().user("q").execute()
        assert answer.content == "x" and answer.request_id == "req-7"
        with pytest.raises(RemoteError) as info:
            await c.chat().user("q").execute()
    assert info.value.code == "E2001" and info.value.retry_after == 3


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_answers_streams_and_errors_sync(mock_server: MockServer, backend: str) -> None:
    mock_server.push(Scenario(text="one two three"), Scenario(status=429, retry_after=3))
    options = _options(mock_server, backend, max_retries=0)
    with AiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        with client.chat().user("s").stream() as stream:
            text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
        assert text == "one two three"
        with pytest.raises(RemoteError) as info:
            client.chat().user("q").execute()
    assert info.value.code == "E2001" and info.value.retry_after == 3


@pytest.mark.parametrize("backend", BACKENDS)
async def test_refused_connection_is_e3001_async(backend: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    client = await AsyncAiClient.create(
        "openai/gpt-4o", api_key="k", base_url=url, transport=backend, max_retries=0
    )
    async with client:
        with pytest.raises(TransportError) as info:
            await client.chat().user("q").execute()
    assert info.value.code == "E3001" and "connection to 127.0.0.1" in str(info.value)


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_refused_connection_is_e3001_sync(backend: str) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    with (
        AiClient.create(
            "openai/gpt-4o", api_key="k", base_url=url, transport=backend, max_retries=0
        ) as client,
        pytest.raises(TransportError) as info,
    ):
        client.chat().user("q").execute()
    assert info.value.code == "E3001"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_slow_server_is_e3003_async(mock_server: MockServer, backend: str) -> None:
    mock_server.push(Scenario(delay=2.0))
    options = _options(mock_server, backend, timeout=0.3, max_retries=0)
    async with await AsyncAiClient.create("openai/gpt-4o", **options) as client:  # type: ignore[arg-type]
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            await client.chat().user("q").execute()
    assert info.value.code == "E3003" and time.monotonic() - started < 1.9


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_slow_server_is_e3003_sync(mock_server: MockServer, backend: str) -> None:
    mock_server.push(Scenario(delay=2.0))
    options = _options(mock_server, backend, timeout=0.3, max_retries=0)
    client = AiClient.create("openai/gpt-4o", **options)  # type: ignore[arg-type]
    with client, pytest.raises(TransportError) as info:
        client.chat().user("q").execute()
    assert info.value.code == "E3003"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_stream_closed_early_closes_the_connection_async(
    mock_server: MockServer, backend: str
) -> None:
    words = " ".join(f"w{i}" for i in range(300))
    mock_server.push(Scenario(text=words, chunk_delay=0.01), Scenario(text="next"))
    before = mock_server.aborted_streams
    async with await AsyncAiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as c:
        async with c.chat().user("s").stream() as stream:
            async for event in stream:
                if event.is_content_delta:
                    break
        assert (await c.chat().user("q").execute()).content == "next"  # the pool still works
    assert _wait_aborted(mock_server, before + 1) == before + 1  # not read to its end


@pytest.mark.parametrize("backend", SYNC_BACKENDS)
def test_stream_closed_early_closes_the_connection_sync(
    mock_server: MockServer, backend: str
) -> None:
    words = " ".join(f"w{i}" for i in range(300))
    mock_server.push(Scenario(text=words, chunk_delay=0.01), Scenario(text="next"))
    before = mock_server.aborted_streams
    with AiClient.create("openai/gpt-4o", **_options(mock_server, backend)) as client:  # type: ignore[arg-type]
        with client.chat().user("s").stream() as stream:
            for event in stream:
                if event.is_content_delta:
                    break
        assert client.chat().user("q").execute().content == "next"
    assert _wait_aborted(mock_server, before + 1) == before + 1
