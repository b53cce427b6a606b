"""ModelArray through the loopback mock server: one model on several base URLs (sync and async).

Three MockServers stand for three hosts of one model; each records what it was sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import CircuitOpenError, RemoteError
from ailib.resilience import CircuitBreakerConfig, RetryConfig
from ailib.routing import (
    AsyncModelArray,
    LatencyBasedSelector,
    LatencyPlugin,
    LatencyTracker,
    LeastInFlightSelector,
    ModelArray,
    WeightedSelector,
)
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

NO_RETRY = RetryConfig(max_retries=0, min_delay_ms=1, max_delay_ms=5)
TRIP_ON_FIRST = CircuitBreakerConfig(failure_threshold=1, cooldown_seconds=300)


@pytest.fixture()
def hosts() -> Iterator[list[MockServer]]:
    servers = [MockServer(), MockServer(), MockServer()]
    for server in servers:
        server.__enter__()
    try:
        yield servers
    finally:
        for server in servers:
            server.__exit__(None, None, None)


def sync_client(server: MockServer) -> AiClient:
    return (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
        .with_retry(NO_RETRY)
        .with_circuit_breaker(TRIP_ON_FIRST)
        .build()
    )


async def async_client(server: MockServer) -> AsyncAiClient:
    return await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
        .with_retry(NO_RETRY)
        .with_circuit_breaker(TRIP_ON_FIRST)
        .build()
    )


def served(hosts: list[MockServer]) -> list[int]:
    return [len(h.requests) for h in hosts]


# ---- round-robin spreads the calls ------------------------------------------------------------


def test_round_robin_over_three_hosts_sync(hosts: list[MockServer]) -> None:
    with ModelArray("gpt-4o", [sync_client(h) for h in hosts]) as array:
        answers = [array.chat().user(f"hi {i}").execute().content for i in range(6)]
        assert answers == [f"echo: hi {i}" for i in range(6)]
        assert served(hosts) == [2, 2, 2]
        stats = array.stats()
        assert all(s["calls"] == 2 and s["in_flight"] == 0 for s in stats.values())
        assert all(s["latency_s"] is not None for s in stats.values())


async def test_round_robin_over_three_hosts_async(hosts: list[MockServer]) -> None:
    clients = [await async_client(h) for h in hosts]
    async with AsyncModelArray("gpt-4o", clients) as array:
        answers = [(await array.chat().user(f"hi {i}").execute()).content for i in range(6)]
        assert answers == [f"echo: hi {i}" for i in range(6)]
        assert served(hosts) == [2, 2, 2]
        stats = array.stats()
        assert all(s["calls"] == 2 and s["in_flight"] == 0 for s in stats.values())
        assert all(s["latency_s"] is not None for s in stats.values())


# ---- a failing host: failover, then its open breaker keeps calls away ------------------------


def check_broken_host_avoided(array: Any, hosts: list[MockServer], answers: list[str]) -> None:
    assert answers == [f"echo: q{i}" for i in range(9)]  # no call failed
    assert len(hosts[1].requests) == 1  # tried once, breaker opened, never again
    assert array.endpoints[1].circuit_state == "open"
    assert [e.healthy for e in array.endpoints] == [True, False, True]
    assert len(hosts[0].requests) + len(hosts[2].requests) == 9
    assert array.stats()[array.endpoints[1].name]["failures"] == 1


def test_breaker_open_endpoint_is_avoided_sync(hosts: list[MockServer]) -> None:
    hosts[1].set_default(Scenario(status=500))
    with ModelArray("gpt-4o", [sync_client(h) for h in hosts]) as array:
        answers = [array.chat().user(f"q{i}").execute().content for i in range(9)]
        check_broken_host_avoided(array, hosts, answers)


async def test_breaker_open_endpoint_is_avoided_async(hosts: list[MockServer]) -> None:
    hosts[1].set_default(Scenario(status=500))
    clients = [await async_client(h) for h in hosts]
    async with AsyncModelArray("gpt-4o", clients) as array:
        answers = [(await array.chat().user(f"q{i}").execute()).content for i in range(9)]
        check_broken_host_avoided(array, hosts, answers)


def test_every_breaker_open_and_no_failover_sync(hosts: list[MockServer]) -> None:
    for host in hosts[:2]:
        host.set_default(Scenario(status=500))
    with ModelArray("gpt-4o", [sync_client(h) for h in hosts[:2]], failover=False) as array:
        for _ in range(2):
            with pytest.raises(RemoteError):  # no failover: the chosen host's error
                array.chat().user("x").execute()
        with pytest.raises(CircuitOpenError, match="every endpoint's breaker is open"):
            array.chat().user("x").execute()
        assert served(hosts) == [1, 1, 0]


async def test_every_breaker_open_and_no_failover_async(hosts: list[MockServer]) -> None:
    for host in hosts[:2]:
        host.set_default(Scenario(status=500))
    clients = [await async_client(h) for h in hosts[:2]]
    async with AsyncModelArray("gpt-4o", clients, failover=False) as array:
        for _ in range(2):
            with pytest.raises(RemoteError):
                await array.chat().user("x").execute()
        with pytest.raises(CircuitOpenError, match="every endpoint's breaker is open"):
            await array.chat().user("x").execute()
        assert served(hosts) == [1, 1, 0]


# ---- streams, weights, latency -------------------------------------------------------------


def test_stream_goes_through_a_healthy_endpoint_sync(hosts: list[MockServer]) -> None:
    hosts[0].set_default(Scenario(status=500))
    with ModelArray("gpt-4o", [sync_client(h) for h in hosts[:2]]) as array:
        with pytest.raises(RemoteError):  # first pick: host 0 (no failover for streams)
            "".join(e.as_content_delta.content for e in array.chat().user("a b").stream()
                    if e.is_content_delta)  # fmt: skip
        for _ in range(2):  # host 0's breaker is open now: every stream goes to host 1
            text = "".join(e.as_content_delta.content for e in array.chat().user("a b").stream()
                           if e.is_content_delta)  # fmt: skip
            assert text == "echo: a b"
        assert served(hosts) == [1, 2, 0]
        assert [e.in_flight for e in array.endpoints] == [0, 0]
        assert array.latency.samples(array.endpoints[1].key) == 2


async def test_stream_goes_through_a_healthy_endpoint_async(hosts: list[MockServer]) -> None:
    hosts[0].set_default(Scenario(status=500))
    clients = [await async_client(h) for h in hosts[:2]]
    async with AsyncModelArray("gpt-4o", clients) as array:

        async def text() -> str:
            parts = [e.as_content_delta.content async for e in array.chat().user("a b").stream()
                     if e.is_content_delta]  # fmt: skip
            return "".join(parts)

        with pytest.raises(RemoteError):
            await text()
        for _ in range(2):
            assert await text() == "echo: a b"
        assert served(hosts) == [1, 2, 0]
        assert [e.in_flight for e in array.endpoints] == [0, 0]
        assert array.latency.samples(array.endpoints[1].key) == 2


def test_weighted_and_latency_selection_sync(hosts: list[MockServer]) -> None:
    clients = [sync_client(h) for h in hosts[:2]]
    with ModelArray("gpt-4o", clients, selector=WeightedSelector(seed=5)) as array:
        array.endpoints[0].weight = 9.0
        for _ in range(40):
            array.chat().user("w").execute()
        assert len(hosts[0].requests) > 2 * len(hosts[1].requests) > 0
    hosts[2].set_default(Scenario(delay=0.3))  # a slow host
    clients = [sync_client(hosts[2]), sync_client(hosts[0])]
    with ModelArray("gpt-4o", clients, selector=LatencyBasedSelector()) as array:
        before = served(hosts)
        for _ in range(6):
            array.chat().user("l").execute()
        after = served(hosts)
        assert after[2] - before[2] == 1  # measured once, then avoided as the slower one
        assert after[0] - before[0] == 5


async def test_least_in_flight_spreads_concurrent_calls_async(hosts: list[MockServer]) -> None:
    import asyncio

    for host in hosts:
        host.set_default(Scenario(delay=0.2))
    clients = [await async_client(h) for h in hosts]
    async with AsyncModelArray("gpt-4o", clients, selector=LeastInFlightSelector()) as array:
        results = await asyncio.gather(*(array.chat().user(f"c{i}").execute() for i in range(6)))
        assert [r.content for r in results] == [f"echo: c{i}" for i in range(6)]
        assert served(hosts) == [2, 2, 2]
        assert all(e.in_flight == 0 for e in array.endpoints)


# ---- latency from the pipeline, for any client -----------------------------------------------


def test_latency_plugin_feeds_the_tracker_from_the_pipeline_sync(hosts: list[MockServer]) -> None:
    tracker = LatencyTracker()
    slow, fast = hosts[0], hosts[1]
    slow.set_default(Scenario(delay=0.25))
    clients = [
        AiClient.builder().model("openai/gpt-4o").api_key("sk-test").base_url(h.base_url("openai"))
        .with_plugin(LatencyPlugin(tracker)).build()
        for h in (slow, fast)
    ]  # fmt: skip
    for client in clients:
        with client:
            client.chat().user("t").execute()
            text = "".join(e.as_content_delta.content for e in client.chat().user("s").stream()
                           if e.is_content_delta)  # fmt: skip
            assert text == "echo: s"
    keys = [f"openai|{h.base_url('openai')}|gpt-4o" for h in (slow, fast)]
    assert [tracker.samples(k) for k in keys] == [2, 2]
    assert tracker.get(keys[0]) >= 0.2 > tracker.get(keys[1])  # type: ignore[operator]
    assert LatencyBasedSelector(tracker).select(keys) == keys[1]


async def test_latency_plugin_feeds_the_tracker_from_the_pipeline_async(
    hosts: list[MockServer],
) -> None:
    tracker = LatencyTracker()
    slow, fast = hosts[0], hosts[1]
    slow.set_default(Scenario(delay=0.25))
    for host in (slow, fast):
        client = await (
            AsyncAiClient.builder().model("openai/gpt-4o").api_key("sk-test")
            .base_url(host.base_url("openai")).with_plugin(LatencyPlugin(tracker)).build()
        )  # fmt: skip
        async with client:
            await client.chat().user("t").execute()
            parts = [e.as_content_delta.content async for e in client.chat().user("s").stream()
                     if e.is_content_delta]  # fmt: skip
            assert "".join(parts) == "echo: s"
    keys = [f"openai|{h.base_url('openai')}|gpt-4o" for h in (slow, fast)]
    assert [tracker.samples(k) for k in keys] == [2, 2]
    assert tracker.get(keys[0]) >= 0.2 > tracker.get(keys[1])  # type: ignore[operator]


# ---- the README's "Model routing" examples -------------------------------------------------


def _readme_blocks() -> list[str]:
    import re
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Model routing\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_model_routing_examples_run(
    hosts: list[MockServer], capsys: pytest.CaptureFixture[str]
) -> None:
    manager_block, array_block = _readme_blocks()
    scope: dict[str, Any] = {}
    exec(manager_block, scope)
    assert scope["cheapest"].supports("tools") and scope["best_chat"].quality is not None
    urls = [h.base_url("ollama") for h in hosts]
    hosts_line = next(line for line in array_block.splitlines() if line.startswith("hosts = "))
    exec(array_block.replace(hosts_line, f"hosts = {urls!r}"), {})
    out = capsys.readouterr().out
    assert "echo: Hello" in out and "'circuit_state': 'closed'" in out
    assert sum(served(hosts)) == 1
