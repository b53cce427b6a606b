"""Clients built with ``.with_state_store("redis://...")`` share one breaker and one limit,
also across OS processes (the mock server counts what reached it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ailib import AiClient, AsyncAiClient, CircuitOpenError
from ailib.errors import RemoteError
from ailib.resilience import CircuitBreakerConfig, RetryConfig
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

NO_RETRY = RetryConfig(max_retries=0)
BREAKER = CircuitBreakerConfig(failure_threshold=2, cooldown_seconds=60)


def unique_model(namespace: str) -> str:
    return f"openai/gpt-4o-{namespace}"  # a breaker key of its own for each test


def test_breaker_opened_by_one_client_refuses_another_sync(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    def build() -> AiClient:
        return (
            AiClient.builder()
            .model(unique_model(namespace))
            .api_key("sk-test")
            .base_url(mock_server.base_url("openai"))
            .with_retry(NO_RETRY)
            .with_circuit_breaker(BREAKER)
            .with_state_store(redis_url)
            .build()
        )

    with build() as first, build() as second:
        mock_server.push(Scenario(status=503, repeat=2))
        for _ in range(2):
            with pytest.raises(RemoteError):
                first.chat().user("x").execute()
        sent = len(mock_server.requests)
        with pytest.raises(CircuitOpenError) as info:
            second.chat().user("x").execute()
        assert len(mock_server.requests) == sent  # nothing was sent
        assert info.value.code == "E3002" and not info.value.retryable
        assert second.circuit_state == "open"


async def test_breaker_opened_by_one_client_refuses_another_async(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    async def build() -> AsyncAiClient:
        return await (
            AsyncAiClient.builder()
            .model(unique_model(namespace))
            .api_key("sk-test")
            .base_url(mock_server.base_url("openai"))
            .with_retry(NO_RETRY)
            .with_circuit_breaker(BREAKER)
            .with_state_store(redis_url)
            .build()
        )

    first, second = await build(), await build()
    async with first, second:
        mock_server.push(Scenario(status=503, repeat=2))
        for _ in range(2):
            with pytest.raises(RemoteError):
                await first.chat().user("x").execute()
        sent = len(mock_server.requests)
        with pytest.raises(CircuitOpenError):
            await second.chat().user("x").execute()
        assert len(mock_server.requests) == sent


def test_another_process_sees_the_breaker_this_one_opened(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    model = unique_model(namespace)
    base_url = mock_server.base_url("openai")
    with (
        AiClient.builder()
        .model(model)
        .api_key("sk-test")
        .base_url(base_url)
        .with_retry(NO_RETRY)
        .with_circuit_breaker(BREAKER)
        .with_state_store(redis_url)
        .build()
    ) as client:
        mock_server.push(Scenario(status=503, repeat=2))
        for _ in range(2):
            with pytest.raises(RemoteError):
                client.chat().user("x").execute()
    sent = len(mock_server.requests)
    script = textwrap.dedent(
        f"""
        import os
        from ailib import AiClient, CircuitOpenError
        from ailib.resilience import CircuitBreakerConfig, RetryConfig
        os.environ["AI_LIB_STATE_URL"] = {redis_url!r}   # the store chosen by the environment
        client = (AiClient.builder().model({model!r}).api_key("sk-test").base_url({base_url!r})
                  .with_retry(RetryConfig(max_retries=0))
                  .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=2,
                                                             cooldown_seconds=60))
                  .build())
        try:
            client.chat().user("x").execute()
        except CircuitOpenError as err:
            print("refused", err.code)
        else:
            print("sent")
        client.close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip() == "refused E3002", out.stderr
    assert len(mock_server.requests) == sent


# ---- closing a client closes every connection its gates opened ------------------------------


def connections(redis_url: str, name: str) -> int:
    """Connections to the server named ``name`` (``?client_name=`` in the store's URL)."""
    import redis

    admin = redis.Redis.from_url(redis_url)
    try:
        return sum(1 for c in admin.client_list() if c.get("name") == name)
    finally:
        admin.close()


def test_closing_the_client_closes_the_limiters_connections_too(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    pytest.importorskip("limits")
    from ailib.resilience import RateLimiterConfig

    client = (
        AiClient.builder()
        .model(unique_model(namespace))
        .api_key("sk-test")
        .base_url(mock_server.base_url("openai"))
        .production_ready()
        .with_rate_limit(RateLimiterConfig.from_rps(50))
        .with_state_store(f"{redis_url}?client_name={namespace}")
        .build()
    )
    client.chat().user("x").execute()
    assert connections(redis_url, namespace) > 0
    client.close()
    assert connections(redis_url, namespace) == 0  # the client is still referenced


async def test_closing_the_async_client_closes_the_limiters_connections_too(
    redis_url: str, namespace: str, mock_server: MockServer
) -> None:
    pytest.importorskip("limits")
    from ailib.resilience import RateLimiterConfig

    client = await (
        AsyncAiClient.builder()
        .model(unique_model(namespace))
        .api_key("sk-test")
        .base_url(mock_server.base_url("openai"))
        .production_ready()
        .with_rate_limit(RateLimiterConfig.from_rps(50))
        .with_state_store(f"{redis_url}?client_name={namespace}")
        .build()
    )
    await client.chat().user("x").execute()
    assert connections(redis_url, namespace) > 0
    await client.aclose()
    assert connections(redis_url, namespace) == 0
