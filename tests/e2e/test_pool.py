"""ConnectionPool: the seed README's example, clients of several providers sharing one
pool, per-host stats, sync and async."""

from __future__ import annotations

import asyncio
from importlib.util import find_spec

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError
from ailib.testing import MockServer
from ailib.transport import ConnectionPool, PoolConfig

PAYLOAD = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
STAT_KEYS = {
    "active_connections",
    "idle_connections",
    "waiting_requests",
    "connections_created",
    "connections_reused",
    "requests",
}
BACKENDS = [n for n in ("httpx", "httpx2", "aiohttp") if find_spec(n) is not None]


async def test_seed_example_runs_as_written(mock_server: MockServer) -> None:
    payload = PAYLOAD
    # --- the seed README's "Connection Pooling" block, ailib names, the mock's URL ---
    pool = ConnectionPool(PoolConfig.high_throughput())

    async with pool:
        client = await pool.get_client("openai", mock_server.url)
        response = await client.post("/v1/chat/completions", json=payload)

    stats = pool.get_stats("openai")
    print(f"Active connections: {stats['openai']['active_connections']}")
    # --- end of the block ---
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "echo: hi"
    assert set(stats["openai"]) == STAT_KEYS
    assert stats["openai"]["connections_created"] == 1 and stats["openai"]["requests"] == 1
    assert stats["openai"]["active_connections"] == 0  # the pool is closed


def test_seed_example_sync_twin(mock_server: MockServer) -> None:
    with ConnectionPool(PoolConfig.low_latency()) as pool:
        client = pool.get_sync_client("openai", mock_server.url)
        for _ in range(3):
            response = client.post("/v1/chat/completions", json=PAYLOAD)
            assert response.json()["choices"][0]["message"]["content"] == "echo: hi"
        stats = pool.get_stats("openai")["openai"]
        assert stats["idle_connections"] == 1 and stats["active_connections"] == 0
    assert stats["connections_created"] == 1 and stats["connections_reused"] == 2


@pytest.mark.parametrize("backend", BACKENDS)
async def test_clients_of_two_providers_share_the_pool(
    mock_server: MockServer, backend: str
) -> None:
    async with ConnectionPool(PoolConfig(max_connections=4, transport=backend)) as pool:
        openai = await AsyncAiClient.create(
            "openai/gpt-4o", api_key="k", base_url=mock_server.base_url("openai"), pool=pool
        )
        other = await (
            AsyncAiClient.builder()
            .model("anthropic/claude-sonnet-4-5")
            .api_key("k")
            .base_url(mock_server.base_url("anthropic"))
            .pool(pool)
            .build()
        )
        answers = await asyncio.gather(
            *(openai.chat().user(f"q{i}").execute() for i in range(8)),
            *(other.chat().user(f"a{i}").execute() for i in range(4)),
        )
        assert [a.content for a in answers[:2]] == ["echo: q0", "echo: q1"]
        assert openai._engine._client is other._engine._client  # one host, one client
        await openai.aclose()  # leaves the pool's connections open
        stats = pool.get_stats()
        assert set(stats) == {"openai", "anthropic"} and stats["openai"] == stats["anthropic"]
        assert stats["openai"]["requests"] == 12
        assert 1 <= stats["openai"]["connections_created"] <= 4  # max_connections per host
        assert stats["openai"]["connections_reused"] == 12 - stats["openai"]["connections_created"]
        assert (await other.chat().user("after").execute()).content == "echo: after"
        await other.aclose()


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "aiohttp"])
def test_sync_clients_share_the_pool(mock_server: MockServer, backend: str) -> None:
    with ConnectionPool(PoolConfig(transport=backend)) as pool:
        clients = [
            AiClient.create(
                "openai/gpt-4o", api_key="k", base_url=mock_server.base_url("openai"), pool=pool
            )
            for _ in range(2)
        ]
        for client in clients:
            assert client.chat().user("hi").execute().content == "echo: hi"
            client.close()
        stats = pool.get_stats("openai")["openai"]
        assert stats["requests"] == 2 and stats["connections_created"] == 1
        assert stats["idle_connections"] == 1
        assert type(clients[0]._engine._client).__module__.startswith(backend)


def test_sync_client_with_an_aiohttp_pool_is_refused(mock_server: MockServer) -> None:
    pytest.importorskip("aiohttp")
    pool = ConnectionPool(PoolConfig(transport="aiohttp"))
    with pool, pytest.raises(ConfigurationError, match="async only"):
        AiClient.create("openai/gpt-4o", api_key="k", base_url=mock_server.url, pool=pool)


async def test_closed_pool_refuses_new_clients(mock_server: MockServer) -> None:
    pool = ConnectionPool()
    await pool.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await pool.get_client("openai", mock_server.url)


def test_closed_pool_refuses_new_clients_sync(mock_server: MockServer) -> None:
    pool = ConnectionPool()
    pool.close()
    with pytest.raises(ConfigurationError, match="closed"):
        pool.get_sync_client("openai", mock_server.url)


def test_pool_config_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="max_connections"):
        PoolConfig(max_connections=0)
    with pytest.raises(ConfigurationError, match="expected one of"):
        PoolConfig(transport="curl")
    with pytest.raises(ConfigurationError, match="PoolConfig"):
        ConnectionPool({"max_connections": 3})  # type: ignore[arg-type]
    assert PoolConfig.default() == PoolConfig()
    assert PoolConfig.high_throughput().max_connections > PoolConfig.low_latency().max_connections


def test_unknown_name_reports_zeros() -> None:
    stats = ConnectionPool().get_stats("nobody")
    assert stats == {"nobody": dict.fromkeys(STAT_KEYS, 0)}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_get_client_on_every_backend(mock_server: MockServer, backend: str) -> None:
    async with ConnectionPool(PoolConfig(transport=backend)) as pool:
        client = await pool.get_client("openai", mock_server.url + "/v1/")
        first = await client.post("chat/completions", json=PAYLOAD)
        second = await client.post("/chat/completions", json=PAYLOAD)
        assert [first.status_code, second.status_code] == [200, 200]
        assert second.json()["choices"][0]["message"]["content"] == "echo: hi"
        assert first.headers["content-type"].startswith("application/json")
        stats = pool.get_stats("openai")["openai"]
    assert stats["connections_created"] == 1 and stats["connections_reused"] == 1
