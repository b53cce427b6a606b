"""Embeddings, token counting and model listing go through the client's pipeline.

A client built with a circuit breaker, a rate limiter, an in-flight cap, a retry config,
telemetry or plugins applies them to ``EmbeddingClient(client)`` calls, to
``client.count_tokens(...)`` and to ``client.list_models()`` as it does to chat: the
breaker opens on their failures and then refuses locally, the limiter and the cap hold
them back, the stats and the metrics count them, plugins and middlewares see them
(operation "post"/"get", ``metadata["endpoint"]``). The chat-only layers (fallback to
another provider, the response cache) let them pass. Sync and async twins, loopback only.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient
from ailib.cache import CacheManager, MemoryCache
from ailib.embeddings import AsyncEmbeddingClient, EmbeddingClient
from ailib.errors import (
    BackpressureError,
    CircuitOpenError,
    InvalidRequestError,
    RateLimitExceededError,
    RemoteError,
)
from ailib.plugins import Middleware, Plugin, PluginContext
from ailib.protocol.loader import builtin_manifest
from ailib.protocol.manifest import Manifest, deep_merge
from ailib.resilience import CircuitBreakerConfig, RateLimiterConfig, RetryConfig
from ailib.telemetry import MetricsCollector
from ailib.testing import MockServer, Scenario
from ailib.testing.dialect_embeddings import embedding_vector

KEY = "sk-secret-test-key-123"
EMBED = "openai/text-embedding-3-small"
NO_RETRY = RetryConfig(max_retries=0)
BREAKER = CircuitBreakerConfig(failure_threshold=2, cooldown_seconds=60)
ONE_PER_MINUTE = RateLimiterConfig.from_rpm(1, max_wait_seconds=0.05, adaptive=False)


def embed_builder(cls: Any, server: MockServer) -> Any:
    """A client builder for the mock's OpenAI embeddings endpoint."""
    base = server.base_url("openai_embeddings")
    return cls.builder().model(EMBED).api_key(KEY).base_url(base)


def embedding_posts(server: MockServer) -> int:
    return sum(1 for r in server.requests if r.path.endswith("/embeddings"))


def anthropic_counting_manifest() -> Manifest:
    """Anthropic's manifest with its count endpoint pointed at ``/messages``: the mock
    serves no ``/messages/count_tokens``, and its Messages answer carries the input
    tokens in ``usage.input_tokens``."""
    overlay = {
        "services": {
            "count_tokens": {
                "path": "/messages",
                "response": {"input_tokens": "$.usage.input_tokens"},
            }
        }
    }
    data = deep_merge(builtin_manifest("anthropic"), overlay)
    return Manifest.from_dict(data, source="anthropic (count tokens at /messages)")


def anthropic_builder(cls: Any, server: MockServer) -> Any:
    builder = cls.builder().model("anthropic/claude-sonnet-4-5").api_key("ak-test")
    builder = builder.base_url(server.base_url("anthropic"))
    return builder.option("manifest", anthropic_counting_manifest())


class Seen(Plugin):
    """Records what each hook saw: (hook, operation, endpoint)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Any]] = []

    def name(self) -> str:
        return "seen"

    def _note(self, hook: str, ctx: PluginContext) -> None:
        self.seen.append((hook, ctx.operation, ctx.metadata.get("endpoint")))

    def on_before_request(self, ctx: PluginContext) -> None:
        self._note("before", ctx)

    def on_after_response(self, ctx: PluginContext) -> None:
        assert isinstance(ctx.response, tuple) and len(ctx.response) == 2  # (body, headers)
        self._note("after", ctx)

    def on_error(self, ctx: PluginContext) -> None:
        self._note("error", ctx)


class Recorder(Middleware):
    """A middleware that records the operations and endpoints passing through it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def handle(self, ctx: Any, call_next: Any) -> Any:
        self.calls.append((ctx.operation, ctx.metadata.get("endpoint")))
        return call_next(ctx)


class AsyncRecorder(Recorder):
    async def handle(self, ctx: Any, call_next: Any) -> Any:  # type: ignore[override]
        self.calls.append((ctx.operation, ctx.metadata.get("endpoint")))
        return await call_next(ctx)


# ---- the circuit breaker ---------------------------------------------------------------------


def test_failing_embeddings_open_the_breaker_then_are_refused_locally_sync(
    mock_server: MockServer,
) -> None:
    builder = embed_builder(AiClient, mock_server).with_retry(NO_RETRY)
    with builder.with_circuit_breaker(BREAKER).build() as client:
        embedder = EmbeddingClient(client)
        mock_server.push(Scenario(status=500, repeat=2))
        for _ in range(2):
            with pytest.raises(RemoteError) as failed:
                embedder.embed("hello")
            assert failed.value.status == 500
        assert client.circuit_state == "open"
        sent = len(mock_server.requests)
        with pytest.raises(CircuitOpenError):
            embedder.embed("hello")
        assert len(mock_server.requests) == sent  # refused here: nothing was sent
        stats = client.get_resilience_stats()
        assert stats.calls == 3 and stats.failures == 3 and stats.breaker_opens == 1
        assert stats.rejected_by_breaker == 1


async def test_failing_embeddings_open_the_breaker_then_are_refused_locally_async(
    mock_server: MockServer,
) -> None:
    builder = embed_builder(AsyncAiClient, mock_server).with_retry(NO_RETRY)
    async with await builder.with_circuit_breaker(BREAKER).build() as client:
        embedder = AsyncEmbeddingClient(client)
        mock_server.push(Scenario(status=500, repeat=2))
        for _ in range(2):
            with pytest.raises(RemoteError) as failed:
                await embedder.embed("hello")
            assert failed.value.status == 500
        assert client.circuit_state == "open"
        sent = len(mock_server.requests)
        with pytest.raises(CircuitOpenError):
            await embedder.embed("hello")
        assert len(mock_server.requests) == sent
        stats = client.get_resilience_stats()
        assert stats.calls == 3 and stats.failures == 3 and stats.breaker_opens == 1
        assert stats.rejected_by_breaker == 1


# ---- the rate limiter and the in-flight cap ---------------------------------------------------


def test_the_rate_limiter_holds_embeddings_back_sync(mock_server: MockServer) -> None:
    with embed_builder(AiClient, mock_server).with_rate_limit(ONE_PER_MINUTE).build() as client:
        embedder = EmbeddingClient(client)
        assert embedder.embed("hello").first.vector == embedding_vector("hello")
        with pytest.raises(RateLimitExceededError):
            embedder.embed("again")
        assert embedding_posts(mock_server) == 1
        assert client.get_resilience_stats().rate_limited == 1


async def test_the_rate_limiter_holds_embeddings_back_async(mock_server: MockServer) -> None:
    builder = embed_builder(AsyncAiClient, mock_server).with_rate_limit(ONE_PER_MINUTE)
    async with await builder.build() as client:
        embedder = AsyncEmbeddingClient(client)
        assert (await embedder.embed("hello")).first.vector == embedding_vector("hello")
        with pytest.raises(RateLimitExceededError):
            await embedder.embed("again")
        assert embedding_posts(mock_server) == 1
        assert client.get_resilience_stats().rate_limited == 1


def _wait_for_request(server: MockServer, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(server.requests) < count:
        assert time.monotonic() < deadline, "the first call never reached the server"
        time.sleep(0.01)


def test_max_inflight_caps_embeddings_sync(mock_server: MockServer) -> None:
    builder = embed_builder(AiClient, mock_server).max_inflight(1, queue_timeout_seconds=0.05)
    with builder.build() as client:
        embedder = EmbeddingClient(client)
        mock_server.push(Scenario(delay=1.0))
        results: list[Any] = []
        first = threading.Thread(target=lambda: results.append(embedder.embed("slow")))
        first.start()
        try:
            _wait_for_request(mock_server, 1)
            assert client.current_inflight == 1
            with pytest.raises(BackpressureError):
                embedder.embed("refused")
        finally:
            first.join(timeout=30)
        assert results and results[0].first.vector == embedding_vector("slow")
        assert embedding_posts(mock_server) == 1
        stats = client.get_resilience_stats()
        assert stats.rejected_by_backpressure == 1 and client.current_inflight == 0


async def test_max_inflight_caps_embeddings_async(mock_server: MockServer) -> None:
    builder = embed_builder(AsyncAiClient, mock_server)
    async with await builder.max_inflight(1, queue_timeout_seconds=0.05).build() as client:
        embedder = AsyncEmbeddingClient(client)
        mock_server.push(Scenario(delay=1.0))
        first = asyncio.ensure_future(embedder.embed("slow"))
        deadline = time.monotonic() + 30
        while not mock_server.requests:
            assert time.monotonic() < deadline, "the first call never reached the server"
            await asyncio.sleep(0.01)
        assert client.current_inflight == 1
        with pytest.raises(BackpressureError):
            await embedder.embed("refused")
        assert (await first).first.vector == embedding_vector("slow")
        assert embedding_posts(mock_server) == 1
        stats = client.get_resilience_stats()
        assert stats.rejected_by_backpressure == 1 and client.current_inflight == 0


# ---- retries, stats and telemetry -------------------------------------------------------------

FAST_RETRY = RetryConfig(max_retries=2, min_delay_ms=1, max_delay_ms=5)


def check_counted(client: Any, collector: MetricsCollector) -> None:
    stats = client.get_resilience_stats()
    assert stats.calls == 2 and stats.successes == 2
    assert stats.attempts == 4 and stats.retries == 2  # the first call: two 500s, then 200
    snap = collector.get_snapshot()
    assert snap.total_requests == 2 and snap.successful_requests == 2
    operations = {labels.operation for labels, _series in collector.series_copy()}
    assert operations == {"embeddings"}


def test_retries_stats_and_telemetry_apply_to_embeddings_sync(mock_server: MockServer) -> None:
    collector = MetricsCollector()
    builder = embed_builder(AiClient, mock_server).with_retry(FAST_RETRY)
    with builder.with_telemetry(metrics=collector, logs=False).build() as client:
        embedder = EmbeddingClient(client)
        mock_server.push(Scenario(status=500, repeat=2))
        assert embedder.embed("hello").first.vector == embedding_vector("hello")
        assert embedding_posts(mock_server) == 3
        embedder.embed_batch(["a", "b"])
        check_counted(client, collector)


async def test_retries_stats_and_telemetry_apply_to_embeddings_async(
    mock_server: MockServer,
) -> None:
    collector = MetricsCollector()
    builder = embed_builder(AsyncAiClient, mock_server).with_retry(FAST_RETRY)
    async with await builder.with_telemetry(metrics=collector, logs=False).build() as client:
        embedder = AsyncEmbeddingClient(client)
        mock_server.push(Scenario(status=500, repeat=2))
        assert (await embedder.embed("hello")).first.vector == embedding_vector("hello")
        assert embedding_posts(mock_server) == 3
        await embedder.embed_batch(["a", "b"])
        check_counted(client, collector)


def test_no_retry_config_sends_an_embeddings_call_once_sync(mock_server: MockServer) -> None:
    with embed_builder(AiClient, mock_server).with_retry(NO_RETRY).build() as client:
        mock_server.push(Scenario(status=500, repeat=3))
        with pytest.raises(RemoteError):
            EmbeddingClient(client).embed("hello")
        assert embedding_posts(mock_server) == 1
        assert client.get_resilience_stats().retries == 0


async def test_no_retry_config_sends_an_embeddings_call_once_async(
    mock_server: MockServer,
) -> None:
    async with await embed_builder(AsyncAiClient, mock_server).with_retry(NO_RETRY).build() as c:
        mock_server.push(Scenario(status=500, repeat=3))
        with pytest.raises(RemoteError):
            await AsyncEmbeddingClient(c).embed("hello")
        assert embedding_posts(mock_server) == 1
        assert c.get_resilience_stats().retries == 0


# ---- plugins and middlewares see count_tokens and list_models --------------------------------

EXPECTED_HOOKS = [
    ("before", "post", "count_tokens"),
    ("after", "post", "count_tokens"),
    ("before", "get", "list_models"),
    ("after", "get", "list_models"),
]
EXPECTED_CALLS = [("post", "count_tokens"), ("get", "list_models")]
FAILED_COUNT_HOOKS = [("before", "post", "count_tokens"), ("error", "post", "count_tokens")]


def check_count_and_list(count: Any, models: Any, server: MockServer) -> None:
    assert count.source == "provider" and count.input_tokens > 0
    assert "claude-sonnet-4-5" in [m.id for m in models]
    count_req, list_req = server.requests[-2:]
    assert (count_req.method, count_req.path) == ("POST", "/v1/messages")
    assert set(count_req.json()) <= {"model", "messages", "system", "tools", "tool_choice"}
    assert (list_req.method, list_req.path) == ("GET", "/v1/models")


def test_count_tokens_and_list_models_pass_plugins_and_middlewares_sync(
    mock_server: MockServer,
) -> None:
    plugin, middleware = Seen(), Recorder()
    builder = anthropic_builder(AiClient, mock_server).with_plugin(plugin)
    with builder.with_middleware(middleware).build() as client:
        count = client.count_tokens([{"role": "user", "content": "one two three"}])
        models = client.list_models()
        check_count_and_list(count, models, mock_server)
        assert plugin.seen == EXPECTED_HOOKS
        assert middleware.calls == EXPECTED_CALLS
        assert client.get_resilience_stats().calls == 2


async def test_count_tokens_and_list_models_pass_plugins_and_middlewares_async(
    mock_server: MockServer,
) -> None:
    plugin, middleware = Seen(), AsyncRecorder()
    builder = anthropic_builder(AsyncAiClient, mock_server).with_plugin(plugin)
    async with await builder.with_middleware(middleware).build() as client:
        count = await client.count_tokens([{"role": "user", "content": "one two three"}])
        models = await client.list_models()
        check_count_and_list(count, models, mock_server)
        assert plugin.seen == EXPECTED_HOOKS
        assert middleware.calls == EXPECTED_CALLS
        assert client.get_resilience_stats().calls == 2


def test_a_failed_count_reaches_the_error_hooks_sync(mock_server: MockServer) -> None:
    plugin = Seen()
    builder = anthropic_builder(AiClient, mock_server).with_retry(NO_RETRY).with_plugin(plugin)
    with builder.build() as client:
        mock_server.push(Scenario(status=400))
        with pytest.raises(RemoteError):
            client.count_tokens([{"role": "user", "content": "hi"}])
        assert plugin.seen == FAILED_COUNT_HOOKS


async def test_a_failed_count_reaches_the_error_hooks_async(mock_server: MockServer) -> None:
    plugin = Seen()
    builder = anthropic_builder(AsyncAiClient, mock_server).with_retry(NO_RETRY)
    async with await builder.with_plugin(plugin).build() as client:
        mock_server.push(Scenario(status=400))
        with pytest.raises(RemoteError):
            await client.count_tokens([{"role": "user", "content": "hi"}])
        assert plugin.seen == FAILED_COUNT_HOOKS


def test_a_middleware_must_return_the_pair_of_a_post_sync(mock_server: MockServer) -> None:
    from ailib.errors import ConfigurationError

    class Drops(Middleware):
        def handle(self, ctx: Any, call_next: Any) -> Any:
            return call_next(ctx)[0]  # the body only

    client = embed_builder(AiClient, mock_server).with_middleware(Drops()).build()
    with client, pytest.raises(ConfigurationError, match="for a 'post' call"):
        EmbeddingClient(client).embed("hello")


async def test_a_middleware_must_return_the_pair_of_a_post_async(mock_server: MockServer) -> None:
    from ailib.errors import ConfigurationError

    class Drops(Middleware):
        async def handle(self, ctx: Any, call_next: Any) -> Any:
            return (await call_next(ctx))[0]

    client = await embed_builder(AsyncAiClient, mock_server).with_middleware(Drops()).build()
    async with client:
        with pytest.raises(ConfigurationError, match="for a 'post' call"):
            await AsyncEmbeddingClient(client).embed("hello")


# ---- chat-only layers let them pass -----------------------------------------------------------


def fallback_target(server: MockServer) -> Any:
    from ailib.resilience import FallbackTarget

    return FallbackTarget("openai/gpt-4o", api_key=KEY, base_url=server.base_url("openai"))


def check_chat_layers_skipped(server: MockServer, client: Any) -> None:
    assert embedding_posts(server) == 3  # the 500, then two identical calls: none cached
    assert len(server.requests) == 3  # nothing went to the chat fallback
    stats = client.get_resilience_stats()
    assert stats.fallbacks == 0 and stats.calls == 3


def test_fallback_and_cache_let_embeddings_pass_sync(mock_server: MockServer) -> None:
    builder = embed_builder(AiClient, mock_server).with_retry(NO_RETRY)
    builder = builder.with_fallbacks([fallback_target(mock_server)])
    with builder.with_cache(CacheManager(backend=MemoryCache())).build() as client:
        embedder = EmbeddingClient(client)
        mock_server.push(Scenario(status=500))
        with pytest.raises(RemoteError) as failed:
            embedder.embed("hello")
        assert failed.value.status == 500
        first, second = embedder.embed("hello"), embedder.embed("hello")
        assert first.vectors == second.vectors == [embedding_vector("hello")]
        check_chat_layers_skipped(mock_server, client)


async def test_fallback_and_cache_let_embeddings_pass_async(mock_server: MockServer) -> None:
    builder = embed_builder(AsyncAiClient, mock_server).with_retry(NO_RETRY)
    builder = builder.with_fallbacks([fallback_target(mock_server)])
    async with await builder.with_cache(CacheManager(backend=MemoryCache())).build() as client:
        embedder = AsyncEmbeddingClient(client)
        mock_server.push(Scenario(status=500))
        with pytest.raises(RemoteError) as failed:
            await embedder.embed("hello")
        assert failed.value.status == 500
        first, second = await embedder.embed("hello"), await embedder.embed("hello")
        assert first.vectors == second.vectors == [embedding_vector("hello")]
        check_chat_layers_skipped(mock_server, client)


class ReplacesRequest(Plugin):
    def name(self) -> str:
        return "replaces"

    def on_before_request(self, ctx: PluginContext) -> None:
        from ailib.dialects import ChatRequest
        from ailib.types.messages import Message

        ctx.request = ChatRequest(ctx.model, [Message.user("hi")])


def test_a_plugin_cannot_give_an_embeddings_call_a_chat_request_sync(
    mock_server: MockServer,
) -> None:
    with embed_builder(AiClient, mock_server).with_plugin(ReplacesRequest()).build() as client:
        with pytest.raises(InvalidRequestError, match="no chat request to replace"):
            EmbeddingClient(client).embed("hello")
        assert embedding_posts(mock_server) == 0


async def test_a_plugin_cannot_give_an_embeddings_call_a_chat_request_async(
    mock_server: MockServer,
) -> None:
    client = await embed_builder(AsyncAiClient, mock_server).with_plugin(ReplacesRequest()).build()
    async with client:
        with pytest.raises(InvalidRequestError, match="no chat request to replace"):
            await AsyncEmbeddingClient(client).embed("hello")
        assert embedding_posts(mock_server) == 0
