"""``FallbackChain`` / ``AsyncFallbackChain`` (the seed's name) over real clients.

A fallbackable error (a 503) moves the operation to the next client and is
recorded in ``last_hops``; a request error (400) is raised at once, nothing else sent;
the last target's error is raised; an empty chain is a ConfigurationError.
"""

from __future__ import annotations

from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.errors import ConfigurationError, RemoteError
from ailib.resilience import AsyncFallbackChain, FallbackChain, ResilienceStats
from ailib.testing import MockServer, Scenario


def _clients(server: MockServer) -> list[AiClient]:
    return [
        AiClient.create(
            "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), max_retries=0
        ),
        AiClient.create(
            "anthropic/claude-sonnet-4-5",
            api_key="k",
            base_url=server.base_url("anthropic"),
            max_retries=0,
        ),
    ]


async def _async_clients(server: MockServer) -> list[AsyncAiClient]:
    return [
        await AsyncAiClient.create(
            "openai/gpt-4o", api_key="k", base_url=server.base_url("openai"), max_retries=0
        ),
        await AsyncAiClient.create(
            "anthropic/claude-sonnet-4-5",
            api_key="k",
            base_url=server.base_url("anthropic"),
            max_retries=0,
        ),
    ]


def _ask(client: Any) -> Any:
    return client.chat().user("Hello").execute()


def test_falls_back_on_overload_sync(mock_server: MockServer) -> None:
    clients = _clients(mock_server)
    stats = ResilienceStats()
    chain = FallbackChain(clients, stats=stats)
    mock_server.push(Scenario(status=503), Scenario(text="from the backup"))
    try:
        assert chain.execute(_ask).content == "from the backup"
        assert [r.dialect for r in mock_server.requests] == ["openai", "anthropic"]
        (hop,) = chain.last_hops
        assert (hop.target, hop.sent) == ("openai/gpt-4o", True)
        assert hop.code in ("E3001", "E3002")  # server error / overloaded: both fallbackable
        assert "openai/gpt-4o -> anthropic/claude-sonnet-4-5" in repr(stats.snapshot())
        mock_server.push(Scenario(status=400))  # not fallbackable: raised, nothing else sent
        with pytest.raises(RemoteError, match="E1001"):
            chain.execute(_ask)
        assert len(mock_server.requests) == 3 and chain.last_hops == []
        mock_server.push(Scenario(status=503), Scenario(status=503))
        with pytest.raises(RemoteError, match="503"):
            chain.execute(_ask)  # the last target's error
        assert [h.target for h in chain.last_hops] == ["openai/gpt-4o"]
    finally:
        for client in clients:
            client.close()
    with pytest.raises(ConfigurationError, match="no targets"):
        FallbackChain[Any]().execute(_ask)


async def test_falls_back_on_overload_async(mock_server: MockServer) -> None:
    clients = await _async_clients(mock_server)
    chain = AsyncFallbackChain(clients)
    mock_server.push(Scenario(status=503), Scenario(text="from the backup"))
    try:
        assert (await chain.execute(_ask)).content == "from the backup"
        assert [r.dialect for r in mock_server.requests] == ["openai", "anthropic"]
        assert [h.target for h in chain.last_hops] == ["openai/gpt-4o"]
        mock_server.push(Scenario(status=400))
        with pytest.raises(RemoteError, match="E1001"):
            await chain.execute(_ask)
        assert len(mock_server.requests) == 3
        mock_server.push(Scenario(status=503), Scenario(status=503))
        with pytest.raises(RemoteError, match="503"):
            await chain.execute(_ask)
    finally:
        for client in clients:
            await client.close()
    assert repr(chain) == "AsyncFallbackChain([openai/gpt-4o, anthropic/claude-sonnet-4-5])"
    with pytest.raises(ConfigurationError, match="no targets"):
        await AsyncFallbackChain[Any]().execute(_ask)
