"""End-to-end: the response cache as a client layer, against the loopback mock server.

Sync and async twins; clients built as users build them
(``AiClient.builder()...with_cache(CacheManager(...)).build()``). What the server saw
(``mock_server.requests``) proves whether a call reached the provider.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.cache import CacheConfig, CacheManager, MemoryCache
from ailib.errors import (
    ConfigurationError,
    InvalidRequestError,
    RemoteError,
    StreamInterruptedError,
)
from ailib.plugins import Plugin, PluginContext
from ailib.testing import MockServer, Scenario

KEY = "sk-cache-test-key"
RICH = Scenario(
    text="The weather in Paris is sunny today.",
    reasoning="The user asks about weather.",
    tool_calls=[("get_weather", {"city": "Paris"})],
)


def _builder(cls: Any, server: MockServer, cache: CacheManager, *plugins: Any) -> Any:
    builder = cls.builder().model("openai/gpt-4o").api_key(KEY).base_url(server.base_url("openai"))
    for plugin in plugins:
        builder = builder.with_plugin(plugin)
    return builder.with_cache(cache)


def _client(server: MockServer, cache: CacheManager, *plugins: Any) -> AiClient:
    client: AiClient = _builder(AiClient, server, cache, *plugins).build()
    return client


async def _aclient(server: MockServer, cache: CacheManager, *plugins: Any) -> AsyncAiClient:
    client: AsyncAiClient = await _builder(AsyncAiClient, server, cache, *plugins).build()
    return client


def _chat_posts(server: MockServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/chat/completions"))


# ---- plain calls ----------------------------------------------------------------------------


def test_a_hit_sends_no_request_sync(mock_server: MockServer) -> None:
    cache = CacheManager(backend=MemoryCache())
    mock_server.push(RICH)
    with _client(mock_server, cache) as client:
        assert "per call: cache(memory(max_size=1000), ttl=3600s) -> " in repr(client.pipeline)
        first = client.chat().user("Weather?").temperature(0).execute()
        second = client.chat().user("Weather?").temperature(0).execute()
        other = client.chat().user("Weather in Rome?").temperature(0).execute()
    assert _chat_posts(mock_server) == 2  # the first and the different one
    assert second == first and second.tool_calls[0].arguments == {"city": "Paris"}
    assert second.served_by == "openai/gpt-4o" and second.cost == first.cost
    assert other.content == "echo: Weather in Rome?"
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.stores, stats.size) == (1, 2, 2, 2)


async def test_a_hit_sends_no_request_async(mock_server: MockServer) -> None:
    cache = CacheManager(backend=MemoryCache())
    mock_server.push(RICH)
    async with await _aclient(mock_server, cache) as client:
        first = await client.chat().user("Weather?").temperature(0).execute()
        second = await client.chat().user("Weather?").temperature(0).execute()
        other = await client.chat().user("Weather in Rome?").temperature(0).execute()
    assert _chat_posts(mock_server) == 2
    assert second == first and second.tool_calls[0].arguments == {"city": "Paris"}
    assert other.content == "echo: Weather in Rome?"
    stats = await cache.astats()
    assert (stats.hits, stats.misses, stats.stores, stats.size) == (1, 2, 2, 2)


def test_the_same_request_built_differently_hits_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    with _client(mock_server, cache) as client:
        client.chat().system("Be brief.").user("Hi").temperature(1).max_tokens(20).execute()
        client.chat().messages(
            [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
        ).max_tokens(20).temperature(1.0).execute()
        client.chat().system("Be brief.").user("Hi").temperature(0.5).max_tokens(20).execute()
    assert _chat_posts(mock_server) == 2
    assert cache.stats().hits == 1


async def test_the_same_request_built_differently_hits_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    async with await _aclient(mock_server, cache) as client:
        await client.chat().system("Be brief.").user("Hi").temperature(1).max_tokens(20).execute()
        await (
            client.chat()
            .messages(
                [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
            )
            .max_tokens(20)
            .temperature(1.0)
            .execute()
        )
        await client.chat().system("Be brief.").user("Hi").temperature(0.5).max_tokens(20).execute()
    assert _chat_posts(mock_server) == 2
    assert cache.stats().hits == 1


def test_an_error_is_never_cached_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(status=400))
    with _client(mock_server, cache) as client:
        with pytest.raises(RemoteError):
            client.chat().user("Hi").execute()
        assert client.chat().user("Hi").execute().content == "echo: Hi"
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1


async def test_an_error_is_never_cached_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(status=400))
    async with await _aclient(mock_server, cache) as client:
        with pytest.raises(RemoteError):
            await client.chat().user("Hi").execute()
        assert (await client.chat().user("Hi").execute()).content == "echo: Hi"
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1


def test_a_hostile_entry_is_a_logged_miss_through_the_client(
    mock_server: MockServer, caplog: pytest.LogCaptureFixture
) -> None:
    backend = MemoryCache()
    cache = CacheManager(backend=backend)
    with _client(mock_server, cache) as client:
        client.chat().user("Hi").execute()
        for key in list(backend._entries):  # an attacker rewrites every entry
            backend.set(key, b'{"format": "ailib.cache.entry/1", "response": "rm -rf"}', None)
        with caplog.at_level(logging.WARNING, logger="ailib"):
            resp = client.chat().user("Hi").execute()
    assert resp.content == "echo: Hi" and _chat_posts(mock_server) == 2
    assert "unreadable entry" in caplog.text


# ---- per-call choices ---------------------------------------------------------------------


class CacheChoice(Plugin):
    """Sets ``ctx.metadata["cache"]`` for every call (what a per-call plugin would do)."""

    def __init__(self, choice: Any) -> None:
        self.choice = choice

    def name(self) -> str:
        return "cache-choice"

    def on_before_request(self, ctx: PluginContext) -> None:
        ctx.metadata["cache"] = self.choice


def test_bypass_and_refresh_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    with _client(mock_server, cache) as client:
        client.chat().user("Hi").execute()
        with cache.bypass():
            client.chat().user("Hi").execute()  # asks again, stores nothing
        assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1
        mock_server.push(Scenario(text="fresher"))
        with cache.bypass(refresh=True):
            assert client.chat().user("Hi").execute().content == "fresher"
        assert client.chat().user("Hi").execute().content == "fresher"  # the refreshed entry
    assert _chat_posts(mock_server) == 3
    with _client(mock_server, cache, CacheChoice(False)) as client:
        client.chat().user("Hi").execute()
    assert _chat_posts(mock_server) == 4
    stats = cache.stats()
    assert (stats.hits, stats.bypassed, stats.stores) == (1, 2, 2)


async def test_bypass_and_refresh_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    async with await _aclient(mock_server, cache) as client:
        await client.chat().user("Hi").execute()
        with cache.bypass():
            await client.chat().user("Hi").execute()
        assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1
        mock_server.push(Scenario(text="fresher"))
        with cache.bypass(refresh=True):
            assert (await client.chat().user("Hi").execute()).content == "fresher"
        assert (await client.chat().user("Hi").execute()).content == "fresher"
    assert _chat_posts(mock_server) == 3
    async with await _aclient(mock_server, cache, CacheChoice("bypass")) as client:
        await client.chat().user("Hi").execute()
    assert _chat_posts(mock_server) == 4


def test_a_bad_per_call_choice_is_a_typed_error(mock_server: MockServer) -> None:
    with (
        _client(mock_server, CacheManager(), CacheChoice("sometimes")) as client,
        pytest.raises(InvalidRequestError, match="cache"),
    ):
        client.chat().user("Hi").execute()
    assert _chat_posts(mock_server) == 0


def test_a_disabled_cache_is_passed_through(mock_server: MockServer) -> None:
    cache = CacheManager(CacheConfig(enabled=False))
    with _client(mock_server, cache) as client:
        client.chat().user("Hi").execute()
        client.chat().user("Hi").execute()
    assert _chat_posts(mock_server) == 2 and cache.stats().bypassed == 2


def test_with_cache_takes_only_a_cache_manager() -> None:
    with pytest.raises(ConfigurationError, match="CacheManager"):
        AiClient.builder().with_cache(MemoryCache())


# ---- streams ------------------------------------------------------------------------------


def _read(stream: Any) -> tuple[list[Any], Any]:
    with stream as opened:
        events = list(opened)
        return events, opened.final_response()


async def _aread(stream: Any) -> tuple[list[Any], Any]:
    async with stream as opened:
        events = [e async for e in opened]
        return events, await opened.final_response()


def test_a_stream_is_stored_complete_and_replayed_as_the_same_events_sync(
    mock_server: MockServer,
) -> None:
    cache = CacheManager()
    mock_server.push(RICH)
    with _client(mock_server, cache) as client:
        events, final = _read(client.chat().user("Weather?").stream())
        stream = client.chat().user("Weather?").stream()
        replayed, replayed_final = _read(stream)
        plain = client.chat().user("Weather?").execute()  # a plain call hits it too
    assert _chat_posts(mock_server) == 1
    assert len(events) > 5 and replayed == events
    assert replayed_final == final and replayed_final.served_by == "openai/gpt-4o"
    assert stream.context.metadata["cache_status"] == "hit"
    assert stream.request_id == final.request_id
    assert plain == final


async def test_a_stream_is_stored_complete_and_replayed_as_the_same_events_async(
    mock_server: MockServer,
) -> None:
    cache = CacheManager()
    mock_server.push(RICH)
    async with await _aclient(mock_server, cache) as client:
        events, final = await _aread(client.chat().user("Weather?").stream())
        stream = client.chat().user("Weather?").stream()
        replayed, replayed_final = await _aread(stream)
        plain = await client.chat().user("Weather?").execute()
    assert _chat_posts(mock_server) == 1
    assert len(events) > 5 and replayed == events
    assert replayed_final == final and stream.context.metadata["cache_status"] == "hit"
    assert plain == final


def test_a_plain_entry_replays_as_a_stream_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(RICH)
    with _client(mock_server, cache) as client:
        plain = client.chat().user("Weather?").execute()
        events, final = _read(client.chat().user("Weather?").stream())
    assert _chat_posts(mock_server) == 1 and final == plain
    text = "".join(e.as_content_delta.content for e in events if e.is_content_delta)
    assert text == plain.content
    ended = [e.as_tool_call_ended.tool_call for e in events if e.is_tool_call_ended]
    assert ended == plain.tool_calls


async def test_a_plain_entry_replays_as_a_stream_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(RICH)
    async with await _aclient(mock_server, cache) as client:
        plain = await client.chat().user("Weather?").execute()
        events, final = await _aread(client.chat().user("Weather?").stream())
    assert _chat_posts(mock_server) == 1 and final == plain
    assert "".join(e.as_content_delta.content for e in events if e.is_content_delta) == (
        plain.content
    )


class EventCounter(Plugin):
    def __init__(self) -> None:
        self.events = 0
        self.completed: list[bool] = []

    def name(self) -> str:
        return "events"

    def on_stream_event(self, ctx: PluginContext) -> None:
        self.events += 1

    def on_complete(self, ctx: PluginContext) -> None:
        self.completed.append(ctx.closed_early)


def test_plugins_see_replayed_events_sync(mock_server: MockServer) -> None:
    counter = EventCounter()
    with _client(mock_server, CacheManager(), counter) as client:
        first, _ = _read(client.chat().user("Count").stream())
        _read(client.chat().user("Count").stream())
    assert counter.events == 2 * len(first) and counter.completed == [False, False]
    assert _chat_posts(mock_server) == 1


def test_an_interrupted_stream_is_never_cached_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(text="one two three four five", cut_after=2))
    with _client(mock_server, cache) as client:
        with pytest.raises(StreamInterruptedError):
            _read(client.chat().user("Cut").stream())
        events, _ = _read(client.chat().user("Cut").stream())
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1
    assert events


async def test_an_interrupted_stream_is_never_cached_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(text="one two three four five", cut_after=2))
    async with await _aclient(mock_server, cache) as client:
        with pytest.raises(StreamInterruptedError):
            await _aread(client.chat().user("Cut").stream())
        await _aread(client.chat().user("Cut").stream())
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1


def test_a_stream_closed_early_is_never_cached_sync(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(text="one two three four five"))
    with _client(mock_server, cache) as client:
        with client.chat().user("Early").stream() as stream:
            for _ in stream:
                break
        _read(client.chat().user("Early").stream())
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1


async def test_a_cancelled_stream_is_never_cached_async(mock_server: MockServer) -> None:
    cache = CacheManager()
    mock_server.push(Scenario(text="one two three four five", chunk_delay=0.2))
    started = asyncio.Event()
    async with await _aclient(mock_server, cache) as client:

        async def consume() -> None:
            async with client.chat().user("Cancel").stream() as stream:
                async for _ in stream:
                    started.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(started.wait(), 30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cache.stats().stores == 0
        await _aread(client.chat().user("Cancel").stream())
    assert _chat_posts(mock_server) == 2 and cache.stats().stores == 1


def test_streams_can_be_left_out(mock_server: MockServer) -> None:
    cache = CacheManager(CacheConfig(cache_streams=False))
    with _client(mock_server, cache) as client:
        _read(client.chat().user("S").stream())
        _read(client.chat().user("S").stream())
        client.chat().user("S").execute()
        client.chat().user("S").execute()
    assert _chat_posts(mock_server) == 3
