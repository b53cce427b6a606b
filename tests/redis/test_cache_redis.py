"""RedisCache against a real redis-server: sync and async sides, TTLs, namespaces, hostile
values, a Redis out of reach, the client layer, and two OS processes sharing entries."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.cache import CacheManager, RedisCache
from ailib.errors import ConfigurationError
from ailib.testing import MockServer, Scenario
from ailib.types.response import ChatResponse
from tests.e2e.test_cache_processes import fill_at_once, run_child


@pytest.fixture
def backend(redis_url: str, namespace: str) -> Iterator[RedisCache]:
    cache = RedisCache(redis_url, namespace=namespace)
    yield cache
    cache.clear()
    cache.close()


def test_sync_side_stores_reads_deletes_and_clears(backend: RedisCache) -> None:
    assert backend.get("a") is None
    backend.set("a", b"1", None)
    backend.set("b", b"\x00\xff binary", 60)
    assert backend.get("a") == b"1" and backend.get("b") == b"\x00\xff binary"
    assert backend.size() == 2
    assert backend.delete("a") is True and backend.delete("a") is False
    backend.clear()
    assert backend.size() == 0


async def test_async_side_stores_reads_deletes_and_clears(backend: RedisCache) -> None:
    assert await backend.aget("a") is None
    await backend.aset("a", b"1", None)
    await backend.aset("b", b"2", 60)
    assert await backend.aget("a") == b"1"
    assert await backend.asize() == 2
    assert await backend.adelete("a") is True and await backend.adelete("a") is False
    await backend.aclear()
    assert await backend.asize() == 0
    await backend.aclose()


def test_entries_expire_with_redis_ttl(backend: RedisCache) -> None:
    backend.set("gone", b"x", 0.05)
    backend.set("kept", b"y", 60)
    deadline = time.monotonic() + 10
    while backend.get("gone") is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert backend.get("gone") is None and backend.get("kept") == b"y"


def test_clear_touches_only_its_own_namespace(redis_url: str, namespace: str) -> None:
    mine = RedisCache(redis_url, namespace=namespace + ":mine*")  # glob characters escaped
    other = RedisCache(redis_url, namespace=namespace + ":mine-other")
    mine.set("k", b"1", 60)
    other.set("k", b"2", 60)
    mine.clear()
    assert mine.get("k") is None and other.get("k") == b"2"
    other.clear()
    mine.close()
    other.close()


def test_a_hostile_value_is_a_logged_miss(
    backend: RedisCache, caplog: pytest.LogCaptureFixture
) -> None:
    cache = CacheManager(backend=backend)
    backend.set("k", b"\x80\x04\x95pickle-looking bytes", None)
    with caplog.at_level(logging.WARNING, logger="ailib"):
        assert cache.get_sync("k") is None
    assert "unreadable entry" in caplog.text


def test_a_redis_out_of_reach_is_a_logged_miss(caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cache = CacheManager(
        backend=RedisCache(f"redis://:hunter2@127.0.0.1:{port}/0", socket_timeout=0.5)
    )
    with caplog.at_level(logging.WARNING, logger="ailib"):
        cache.set_sync("k", ChatResponse("x"))
        assert cache.get_sync("k") is None
        assert asyncio.run(cache.get("k")) is None
    assert cache.stats().errors >= 3
    assert "hunter2" not in caplog.text and "hunter2" not in repr(cache.backend)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisCache("http://127.0.0.1:6379")
    with pytest.raises(ConfigurationError, match="namespace"):
        RedisCache("redis://127.0.0.1:6379/0", namespace="")


def test_the_client_layer_hits_in_redis_sync(backend: RedisCache, mock_server: MockServer) -> None:
    cache = CacheManager(backend=backend)
    builder = AiClient.builder().model("openai/gpt-4o").api_key("k")
    with builder.base_url(mock_server.base_url("openai")).with_cache(cache).build() as client:
        with client.chat().user("Stream").stream() as stream:
            events = list(stream)
        with client.chat().user("Stream").stream() as stream:
            assert list(stream) == events
        assert client.chat().user("Stream").execute().content == "echo: Stream"
    assert len(mock_server.requests) == 1


async def test_the_client_layer_hits_in_redis_async(
    backend: RedisCache, mock_server: MockServer
) -> None:
    cache = CacheManager(backend=backend)
    builder = AsyncAiClient.builder().model("openai/gpt-4o").api_key("k")
    client = await builder.base_url(mock_server.base_url("openai")).with_cache(cache).build()
    async with client:
        first = await client.chat().user("Hi").execute()
        assert await client.chat().user("Hi").execute() == first
    assert len(mock_server.requests) == 1
    await backend.aclose()


def test_one_process_answer_is_another_process_hit(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    mock_server.push(Scenario(text="computed once"))
    url = mock_server.base_url("openai")
    first = run_child("redis", redis_url, namespace, "ask", url, "Hello")
    second = run_child("redis", redis_url, namespace, "ask", url, "Hello")
    assert first == {"content": "computed once", "hits": 0}
    assert second == {"content": "computed once", "hits": 1}
    assert len(mock_server.requests) == 1
    RedisCache(redis_url, namespace=namespace).clear()


def test_processes_writing_at_once_lose_nothing(backend: RedisCache) -> None:
    count = 40
    outputs = fill_at_once("redis", backend.url, backend.namespace, count=count)
    assert outputs == [{"stores": 2 * count}] * 2
    cache = CacheManager(backend=backend)
    for prefix in ("a", "b"):
        for i in range(count):
            found = cache.get_sync(f"{prefix}-{i}")
            assert found is not None and found.content == f"{prefix} answer {i}"
    assert cache.stats().size == 2 * count + 1
