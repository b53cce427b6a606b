"""CacheManager and its entries: cattrs JSON round trips (no pickle), hostile entries as
logged misses, stats, TTLs, the seed README's manual use, sync and async."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from ailib.cache import CacheConfig, CacheManager, MemoryCache, NullCache
from ailib.cache.codec import FORMAT, CacheEntry, CacheEntryError, decode_entry, encode_entry
from ailib.cache.events import events_of
from ailib.errors import ConfigurationError, InvalidRequestError
from ailib.types.audio import AudioOutput
from ailib.types.events import (
    AudioDelta,
    ContentDelta,
    StreamEnd,
    ToolCallEnded,
    UnknownEvent,
    UsageEvent,
)
from ailib.types.messages import ContentBlock
from ailib.types.response import Candidate, ChatResponse, Cost, Usage
from ailib.types.tools import ToolCall

CALL = ToolCall.from_raw("call_1", "get_weather", '{"city": "Paris"}')
RESPONSE = ChatResponse(
    content="It is sunny.",
    tool_calls=[CALL],
    finish_reason="tool_calls",
    usage=Usage(10, 5, 15, cached_tokens=2, reasoning_tokens=1),
    request_id="req-1",
    raw={"not": "kept"},
    model="gpt-4o",
    id="chatcmpl-1",
    reasoning="Weather question.",
    raw_finish_reason="tool_calls",
    candidates=[Candidate(0, "It is sunny.", [CALL], "tool_calls", "Weather question.")],
    thinking_blocks=[ContentBlock.thinking("hmm", "sig==")],
    audio=AudioOutput(b"\x00\x01RIFF", "wav", "It is sunny.", "audio_1", 1700000000),
    cost=Cost(0.001, 0.002, cached_input_cost=0.0001),
    served_by="openai/gpt-4o",
)
EVENTS = (
    ContentDelta("It is "),
    ContentDelta("sunny."),
    AudioDelta(b"\x00\x01", "It is", "audio_1"),
    ToolCallEnded(0, CALL),
    UsageEvent(Usage(10, 5, 15)),
    StreamEnd("tool_calls", "tool_calls"),
    UnknownEvent("ping", {"n": [1, 2]}),
)


def test_entries_round_trip_through_json_with_every_field() -> None:
    data = encode_entry(CacheEntry("k", RESPONSE, EVENTS, 123.5))
    document = json.loads(data)  # plain JSON, readable by anyone
    assert document["format"] == FORMAT and "raw" not in document["response"]
    entry = decode_entry(data, "k")
    assert entry.response == RESPONSE  # raw and served_by are not compared (eq=False)
    assert entry.response.raw is None and entry.response.served_by is None
    assert entry.response.audio == RESPONSE.audio
    assert entry.events == EVENTS and entry.stored_at == 123.5


def _with(document: dict[str, Any], path: list[Any], value: Any) -> bytes:
    target: Any = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return json.dumps(document).encode()


def _valid() -> dict[str, Any]:
    return json.loads(encode_entry(CacheEntry("k", RESPONSE, EVENTS)))  # type: ignore[no-any-return]


HOSTILE = {
    "not json": b"\x80\x04\x95 pickled?",
    "json but a list": b"[1, 2, 3]",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "another format": _with(_valid(), ["format"], "pickle"),
    "another key": _with(_valid(), ["key"], "other"),
    "content not a str": _with(_valid(), ["response", "content"], {"__class__": "os.system"}),
    "usage a str": _with(_valid(), ["response", "usage", "input_tokens"], "10"),
    "bool as int": _with(_valid(), ["response", "usage", "input_tokens"], True),
    "tool calls not a list": _with(_valid(), ["response", "tool_calls"], "x"),
    "bad base64": _with(_valid(), ["response", "audio", "data"], "!!not base64!!"),
    "block type wrong": _with(_valid(), ["response", "thinking_blocks", 0, "type"], 5),
    "unknown event kind": _with(_valid(), ["events", 0, "kind"], "exec"),
    "event missing field": _with(_valid(), ["events", 0], {"kind": "content_delta"}),
    "events not a list": _with(_valid(), ["events"], {"a": 1}),
    "response missing": _with(_valid(), ["response"], None),
    "stored_at a str": _with(_valid(), ["stored_at"], "now"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_entries_are_refused(name: str) -> None:
    with pytest.raises(CacheEntryError):
        decode_entry(HOSTILE[name], "k")


def test_a_non_bytes_value_or_an_oversized_one_is_refused() -> None:
    with pytest.raises(CacheEntryError, match="not bytes"):
        decode_entry("text", "k")
    with pytest.raises(CacheEntryError, match="limit"):
        decode_entry(encode_entry(CacheEntry("k", RESPONSE)), "k", max_bytes=100)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("name", ["not json", "content not a str", "another key"])
def test_a_hostile_entry_is_a_logged_miss(
    name: str, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    backend = MemoryCache()
    cache = CacheManager(backend=backend)
    backend.set("k", HOSTILE[name], None)
    with caplog.at_level(logging.WARNING, logger="ailib"):
        got = asyncio.run(cache.get("k")) if asynchronous else cache.get_sync("k")
    assert got is None
    assert "unreadable entry" in caplog.text and "treated as a miss" in caplog.text
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.errors) == (0, 1, 1)


class Broken(NullCache):
    def get(self, key: str) -> bytes | None:
        raise OSError("disk on fire")

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        raise OSError("disk on fire")

    def size(self) -> int:
        raise OSError("disk on fire")


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_a_failing_backend_never_fails_the_caller(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cache = CacheManager(backend=Broken())
    with caplog.at_level(logging.WARNING, logger="ailib"):
        if asynchronous:
            asyncio.run(cache.set("k", RESPONSE))
            assert asyncio.run(cache.get("k")) is None
        else:
            cache.set_sync("k", RESPONSE)
            assert cache.get_sync("k") is None
        stats = cache.stats()
    assert "disk on fire" in caplog.text
    assert (stats.stores, stats.misses, stats.errors, stats.size) == (0, 1, 2, 0)


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_stats_count_hits_misses_and_the_ratio(asynchronous: bool) -> None:
    cache = CacheManager(backend=MemoryCache())

    async def run() -> None:
        await cache.set("a", RESPONSE)
        assert await cache.get("a") == RESPONSE
        assert await cache.get("b") is None
        assert await cache.get("a") == RESPONSE

    if asynchronous:
        asyncio.run(run())
    else:
        cache.set_sync("a", RESPONSE)
        assert cache.get_sync("a") == RESPONSE
        assert cache.get_sync("b") is None
        assert cache.get_sync("a") == RESPONSE
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.stores, stats.size) == (2, 1, 1, 1)
    assert stats.hit_ratio == pytest.approx(2 / 3)
    assert f"{stats.hit_ratio:.2%}" == "66.67%"
    assert stats.to_dict()["hit_ratio"] == stats.hit_ratio
    assert asyncio.run(cache.astats()) == stats


def test_the_default_ttl_and_a_per_entry_ttl_apply() -> None:
    now = [0.0]
    backend = MemoryCache(clock=lambda: now[0])
    cache = CacheManager(CacheConfig(default_ttl_seconds=60), backend)
    cache.set_sync("default", RESPONSE)
    cache.set_sync("short", RESPONSE, ttl=5)
    now[0] = 30
    assert cache.get_sync("short") is None and cache.get_sync("default") is not None
    now[0] = 61
    assert cache.get_sync("default") is None
    with pytest.raises(ConfigurationError, match="TTL"):
        cache.set_sync("k", RESPONSE, ttl=0)


def test_delete_and_clear() -> None:
    cache = CacheManager()
    cache.set_sync("a", RESPONSE)
    cache.set_sync("b", RESPONSE)
    assert cache.delete_sync("a") is True and cache.get_sync("a") is None
    asyncio.run(cache.clear())
    assert cache.stats().size == 0


def test_bad_configuration_is_refused_clearly() -> None:
    with pytest.raises(ConfigurationError, match="default_ttl_seconds"):
        CacheConfig(default_ttl_seconds=-1)
    with pytest.raises(ConfigurationError, match="max_entry_bytes"):
        CacheConfig(max_entry_bytes=0)
    with pytest.raises(ConfigurationError, match="ignored_params"):
        CacheConfig(ignored_params="seed")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="CacheBackend"):
        CacheManager(backend={})  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="ChatResponse"):
        CacheManager().set_sync("k", "a string")  # type: ignore[arg-type]


def test_an_entry_over_the_size_limit_is_not_stored() -> None:
    cache = CacheManager(CacheConfig(max_entry_bytes=200))
    cache.set_sync("k", RESPONSE)
    assert cache.get_sync("k") is None and cache.stats().stores == 0


def test_events_of_a_response_add_up_to_it() -> None:
    plain = ChatResponse("Hello!", finish_reason="stop", usage=Usage(3, 2, 5), model="m")
    events = events_of(plain)
    assert events == [ContentDelta("Hello!"), StreamEnd("stop"), UsageEvent(Usage(3, 2, 5))]
    with_tools = events_of(RESPONSE)
    kinds = [e.kind for e in with_tools]
    assert kinds == [
        "thinking_delta",
        "content_delta",
        "audio_delta",
        "tool_call_started",
        "tool_call_delta",
        "tool_call_ended",
        "stream_end",
        "usage",
    ]


def test_an_event_class_defined_elsewhere_round_trips() -> None:
    import attrs

    from ailib.types.events import StreamEvent

    @attrs.frozen
    class CitationDelta(StreamEvent):
        url: str
        kind = "citation_delta_test"

    events = (CitationDelta("https://example.com"), ContentDelta("x"))
    entry = decode_entry(encode_entry(CacheEntry("k", RESPONSE, events)), "k")
    assert entry.events == events


def test_importing_the_package_loads_no_backend_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, ailib.cache\n"
        "from ailib.cache import CacheManager, MemoryCache\n"
        "CacheManager(backend=MemoryCache())\n"
        "print(sorted(m for m in ('diskcache', 'redis', 'cattrs') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
