"""Clients built with resilience, through the loopback mock server (sync and async twins).

The seed README's "Production-Ready" and "Custom Resilience" examples (ailib names),
fallback across dialects, a target that cannot carry the request skipped with its
reason, the environment variables, and the stream timeouts.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ailib import AiClient, AsyncAiClient, StreamInterruptedError
from ailib.errors import CapabilityError, ParameterError, RemoteError
from ailib.protocol.hot import ProtocolLoader
from ailib.resilience import (
    CircuitBreakerConfig,
    FallbackTarget,
    RateLimiterConfig,
    RetryConfig,
)
from ailib.testing.scenario import Scenario
from ailib.testing.server import MockServer

FAST = RetryConfig(max_retries=1, min_delay_ms=1, max_delay_ms=5)


def anthropic_fallback(server: MockServer) -> FallbackTarget:
    return FallbackTarget(
        "anthropic/claude-sonnet-4-5", api_key="ak-test", base_url=server.base_url("anthropic")
    )


def sync_builder(server: MockServer) -> Any:
    return (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
    )


def async_builder(server: MockServer) -> Any:
    return (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(server.base_url("openai"))
    )


# ---- the seed README's examples ------------------------------------------------------------


def test_production_ready_example_sync(mock_server: MockServer) -> None:
    client = (
        sync_builder(mock_server)
        .production_ready()
        .with_fallbacks([anthropic_fallback(mock_server)])
        .build()
    )
    with client:
        assert client.chat().user("Hello!").execute().content == "echo: Hello!"
        assert client.circuit_state == "closed"
        assert client.current_inflight == 0
        stats = client.get_resilience_stats()
        assert stats.calls == 1 and stats.successes == 1 and stats.max_inflight == 10
        shown = repr(client.pipeline)
        for part in ("signals", "fallback[anthropic/claude-sonnet-4-5]", "backpressure",
                     "retry", "circuit_breaker", "engine"):  # fmt: skip
            assert part in shown


async def test_production_ready_example_async(mock_server: MockServer) -> None:
    client = await (
        async_builder(mock_server)
        .production_ready()
        .with_fallbacks([anthropic_fallback(mock_server)])
        .build()
    )
    async with client:
        resp = await client.chat().user("Hello!").execute()
        assert resp.content == "echo: Hello!" and resp.served_by == "openai/gpt-4o"
        assert client.circuit_state == "closed" and client.current_inflight == 0
        assert client.get_resilience_stats().successes == 1


def custom(builder: Any) -> Any:
    return (
        builder.with_retry(RetryConfig(max_retries=5, min_delay_ms=1, max_delay_ms=30_000))
        .with_rate_limit(RateLimiterConfig.from_rps(10))
        .with_circuit_breaker(CircuitBreakerConfig(failure_threshold=5, cooldown_seconds=30))
        .max_inflight(20)
    )


def test_custom_resilience_example_sync(mock_server: MockServer) -> None:
    with custom(sync_builder(mock_server)).build() as client:
        mock_server.push(Scenario(status=503, repeat=2))
        assert client.chat().user("hi").execute().content == "echo: hi"
        stats = client.get_resilience_stats()
        assert stats.retries == 2 and stats.attempts == 3 and stats.max_inflight == 20
        assert "rate_limit(10/s" in repr(client.pipeline)


async def test_custom_resilience_example_async(mock_server: MockServer) -> None:
    async with await custom(async_builder(mock_server)).build() as client:
        mock_server.push(Scenario(status=503, repeat=2))
        assert (await client.chat().user("hi").execute()).content == "echo: hi"
        assert client.get_resilience_stats().retries == 2


# ---- fallback ---------------------------------------------------------------------------


def test_fallback_serves_from_the_next_target_in_its_dialect_sync(
    mock_server: MockServer,
) -> None:
    client = (
        sync_builder(mock_server).with_retry(FAST).with_fallbacks([anthropic_fallback(mock_server)])
    )
    with client.build() as c:
        mock_server.push(Scenario(status=503, repeat=2))
        resp = c.chat().user("hello").execute()
        assert resp.content == "echo: hello"
        assert resp.served_by == "anthropic/claude-sonnet-4-5"
        stats = c.get_resilience_stats()
        assert stats.fallback_hops == {"openai/gpt-4o -> anthropic/claude-sonnet-4-5": 1}
        assert stats.served_by == {"anthropic/claude-sonnet-4-5": 1}
        assert mock_server.requests[-1].path.endswith("/messages")  # Anthropic's wire


async def test_fallback_serves_from_the_next_target_async(mock_server: MockServer) -> None:
    builder = async_builder(mock_server).with_retry(FAST)
    async with await builder.with_fallbacks([anthropic_fallback(mock_server)]).build() as c:
        mock_server.push(Scenario(status=503, repeat=2))
        resp = await c.chat().user("hello").execute()
        assert resp.served_by == "anthropic/claude-sonnet-4-5"


def test_stream_falls_back_before_the_first_event_sync(mock_server: MockServer) -> None:
    builder = sync_builder(mock_server).with_retry(FAST)
    with builder.with_fallbacks([anthropic_fallback(mock_server)]).build() as c:
        mock_server.push(Scenario(status=529, repeat=2))
        with c.chat().user("one two").stream() as stream:
            text = "".join(e.as_content_delta.content for e in stream if e.is_content_delta)
        assert text == "echo: one two"
        assert stream.final_response().served_by == "anthropic/claude-sonnet-4-5"
        assert [h.target for h in stream.context.hops] == ["openai/gpt-4o"]


async def test_stream_falls_back_before_the_first_event_async(mock_server: MockServer) -> None:
    builder = async_builder(mock_server).with_retry(FAST)
    async with await builder.with_fallbacks([anthropic_fallback(mock_server)]).build() as c:
        mock_server.push(Scenario(status=529, repeat=2))
        async with c.chat().user("one two").stream() as stream:
            text = "".join([e.as_content_delta.content async for e in stream if e.is_content_delta])
        assert text == "echo: one two"
        assert (await stream.final_response()).served_by == "anthropic/claude-sonnet-4-5"


def test_no_fallback_after_a_non_fallbackable_error(mock_server: MockServer) -> None:
    builder = sync_builder(mock_server).with_retry(FAST)
    with builder.with_fallbacks([anthropic_fallback(mock_server)]).build() as c:
        mock_server.push(Scenario(status=400))
        with pytest.raises(RemoteError) as info:
            c.chat().user("hello").execute()
        assert info.value.code == "E1001"
        assert c.get_resilience_stats().fallbacks == 0


def test_a_target_that_cannot_carry_the_request_is_skipped_with_its_reason(
    mock_server: MockServer,
) -> None:
    gemini = FallbackTarget(
        "gemini/gemini-2.5-flash", api_key="gk", base_url=mock_server.base_url("gemini")
    )
    builder = sync_builder(mock_server).with_retry(FAST)
    with builder.with_fallbacks([anthropic_fallback(mock_server), gemini]).build() as c:
        mock_server.push(Scenario(status=503, repeat=2))
        resp = c.chat().user("hello").param("frequency_penalty", 0.5).execute()
        assert resp.served_by == "gemini/gemini-2.5-flash"
        skipped = c.get_resilience_stats().skipped_targets
        assert "anthropic/claude-sonnet-4-5" in skipped
        assert "frequency_penalty" in skipped["anthropic/claude-sonnet-4-5"]


async def test_when_no_target_can_carry_it_the_first_refusal_is_raised_async(
    mock_server: MockServer,
) -> None:
    builder = async_builder(mock_server).with_fallbacks([anthropic_fallback(mock_server)])
    async with await builder.build() as c:
        with pytest.raises((ParameterError, CapabilityError)) as info:
            await c.chat().user("hello").param("nonexistent_param", 1).execute()
        assert "nonexistent_param" in str(info.value)
        assert mock_server.requests == []  # nothing was sent anywhere


# ---- the environment ----------------------------------------------------------------------


def test_environment_variables_configure_the_gates(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_LIB_MAX_INFLIGHT", "3")
    monkeypatch.setenv("AI_LIB_RPS", "50")
    monkeypatch.setenv("AI_HTTP_TIMEOUT_SECS", "7")
    with AiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai")
    ) as client:
        shown = repr(client.pipeline)
        assert "backpressure(max_inflight=3" in shown and "rate_limit(50/s" in shown
        assert client.provider._deadline == 7.0
        assert client.chat().user("x").execute().content == "echo: x"
    explicit = sync_builder(mock_server).max_inflight(9).timeout(2).build()
    with explicit:  # explicit configuration wins over the environment
        assert "backpressure(max_inflight=9" in repr(explicit.pipeline)
        assert explicit.provider._deadline == 2.0


def test_breaker_environment_sets_the_production_defaults(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AI_LIB_BREAKER_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("AI_LIB_BREAKER_COOLDOWN_SECS", "60")
    with sync_builder(mock_server).production_ready().build() as client:
        assert "circuit_breaker(threshold=2, cooldown=60s)" in repr(client.pipeline)


def test_plain_client_pipeline_is_signals_and_retry(mock_server: MockServer) -> None:
    with AiClient.create(
        "openai/gpt-4o", api_key="sk-test", base_url=mock_server.base_url("openai")
    ) as client:
        assert repr(client.pipeline) == (
            "Pipeline(per call: signals; per attempt: retry(manifest policy) -> engine)"
        )
        assert client.circuit_state is None


# ---- stream timeouts ------------------------------------------------------------------------


def test_idle_timeout_on_content_raises_with_the_partial_sync(mock_server: MockServer) -> None:
    client = sync_builder(mock_server).stream_timeouts(idle=0.3).with_retry(FAST).build()
    with client:
        mock_server.push(Scenario(text="a b c d e f", chunk_delay=1.0))
        with pytest.raises(StreamInterruptedError) as info, client.chat().user("x").stream() as s:
            for _ in s:
                pass
        assert info.value.code == "E3003" and "idle" in info.value.message
        assert info.value.partial is not None
        assert len(mock_server.requests) == 1  # a timeout is the caller's: not resent


async def test_total_stream_deadline_raises_with_the_partial_async(
    mock_server: MockServer,
) -> None:
    client = await async_builder(mock_server).stream_timeouts(total=0.5).build()
    async with client:
        mock_server.push(Scenario(text=" ".join(["w"] * 50), chunk_delay=0.05))
        seen = 0
        with pytest.raises(StreamInterruptedError) as info:
            async with client.chat().user("x").stream() as stream:
                async for event in stream:
                    seen += event.is_content_delta
        assert info.value.code == "E3003" and "total deadline" in info.value.message
        assert 0 < seen < 50
        assert info.value.partial is not None and info.value.partial.content


def test_stream_outcome_reaches_the_signals_when_closed_early(mock_server: MockServer) -> None:
    with sync_builder(mock_server).build() as client:
        stream = client.chat().user("one two three").stream()
        with stream:
            for _ in stream:
                assert client.current_inflight == 1  # a stream holds its place until it ends
                break
        assert client.current_inflight == 0
        assert stream.context.closed_early
        stats = client.get_resilience_stats()
        assert stats.calls == 1 and stats.failures == 0 and stats.successes == 0
        assert stats.closed_early == 1


def test_fault_in_one_call_does_not_leak_into_the_next(mock_server: MockServer) -> None:
    async def run() -> None:
        client = await async_builder(mock_server).with_retry(FAST).build()
        async with client:
            mock_server.push(Scenario(status=503, repeat=2))
            with pytest.raises(RemoteError):
                await client.chat().user("a").execute()
            assert (await client.chat().user("b").execute()).content == "echo: b"
            stats = client.get_resilience_stats()
            assert stats.failures == 1 and stats.successes == 1
            assert stats.errors_by_code == {"E3001": 1}

    asyncio.run(run())


# ---- fallback targets: same provider, hot reload (review) ------------------------------------


def test_same_provider_fallback_keeps_the_primary_key_and_base_url_sync(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another model of the same provider goes where the primary goes, with its key:
    not to the public endpoint with whatever key the environment holds."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    builder = sync_builder(mock_server).with_retry(FAST).with_fallbacks(["openai/gpt-4o-mini"])
    with builder.build() as client:
        assert client._fallback_clients[0].provider.base_url == mock_server.base_url("openai")
        mock_server.push(Scenario(status=503, repeat=2))
        resp = client.chat().user("hi").execute()
        assert resp.served_by == "openai/gpt-4o-mini"
        sent = mock_server.requests[-1]
        assert sent.json()["model"] == "gpt-4o-mini"
        assert sent.headers["authorization"] == "Bearer sk-test"


async def test_same_provider_fallback_keeps_the_primary_key_and_base_url_async(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    builder = async_builder(mock_server).with_retry(FAST).with_fallbacks(["openai/gpt-4o-mini"])
    async with await builder.build() as client:
        mock_server.push(Scenario(status=503, repeat=2))
        resp = await client.chat().user("hi").execute()
        assert resp.served_by == "openai/gpt-4o-mini"
        assert mock_server.requests[-1].headers["authorization"] == "Bearer sk-test"


def _write_overlay(path: Path, base_url: str) -> None:
    """An overlay manifest moving the provider to ``base_url`` (mtime moved forward)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(f"endpoint:\n  base_url: {base_url}\n")
    stamp = max(before + 10_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(stamp, stamp))


@pytest.fixture
def hot_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ProtocolLoader]:
    monkeypatch.delenv("AI_PROTOCOL_PATH", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    loader = ProtocolLoader([tmp_path / "manifests"], hot_reload=True, poll_interval=0)
    try:
        yield loader
    finally:
        loader.close()


def _hot_fallback_builder(builder: Any, loader: ProtocolLoader) -> Any:
    return (
        builder.model("openai/gpt-4o")
        .api_key("sk-test")
        .option("loader", loader)
        .with_retry(FAST)
        .with_fallbacks([FallbackTarget("anthropic/claude-sonnet-4-5", api_key="ak-test")])
    )


def test_fallback_targets_follow_hot_reload_sync(
    tmp_path: Path, hot_loader: ProtocolLoader, mock_server: MockServer
) -> None:
    manifests = tmp_path / "manifests"
    _write_overlay(manifests / "openai.yaml", mock_server.base_url("openai"))
    _write_overlay(manifests / "anthropic.yaml", mock_server.base_url("anthropic"))
    with (
        _hot_fallback_builder(AiClient.builder(), hot_loader).build() as client,
        MockServer() as moved,
    ):
        mock_server.push(Scenario(status=503, repeat=2))
        assert client.chat().user("one").execute().served_by == "anthropic/claude-sonnet-4-5"
        _write_overlay(manifests / "anthropic.yaml", moved.base_url("anthropic"))
        mock_server.push(Scenario(status=503, repeat=2))
        assert client.chat().user("two").execute().served_by == "anthropic/claude-sonnet-4-5"
        assert [r.dialect for r in moved.requests] == ["anthropic"]  # the edited manifest
        _write_overlay(manifests / "openai.yaml", moved.base_url("openai"))  # the primary too
        assert client.chat().user("three").execute().served_by == "openai/gpt-4o"
        assert [r.dialect for r in moved.requests] == ["anthropic", "openai"]
        assert client.circuit_state is None  # no breaker configured


async def test_fallback_targets_follow_hot_reload_async(
    tmp_path: Path, hot_loader: ProtocolLoader, mock_server: MockServer
) -> None:
    manifests = tmp_path / "manifests"
    _write_overlay(manifests / "openai.yaml", mock_server.base_url("openai"))
    _write_overlay(manifests / "anthropic.yaml", mock_server.base_url("anthropic"))
    client = await _hot_fallback_builder(AsyncAiClient.builder(), hot_loader).build()
    async with client:
        with MockServer() as moved:
            _write_overlay(manifests / "anthropic.yaml", moved.base_url("anthropic"))
            mock_server.push(Scenario(status=503, repeat=2))
            resp = await client.chat().user("two").execute()
            assert resp.served_by == "anthropic/claude-sonnet-4-5"
            assert [r.dialect for r in moved.requests] == ["anthropic"]


# ---- keys never shown by the pipeline's objects (review) -------------------------------------

PRIMARY_KEY = "sk-primary-SECRET-0123456789abcdef"
FALLBACK_KEY = "ak-fallback-SECRET-0123456789abcdef"


def _shown(*objects: Any) -> str:
    return "\n".join(f"{obj!r}\n{obj}" for obj in objects)


def test_no_key_in_the_reprs_of_the_pipeline_objects(mock_server: MockServer) -> None:
    from ailib.plugins import Middleware

    seen: list[Any] = []

    class Keep(Middleware):
        def handle(self, ctx: Any, call_next: Any) -> Any:
            seen.append(ctx)
            return call_next(ctx)

    fallback = FallbackTarget(
        "anthropic/claude-sonnet-4-5",
        api_key=FALLBACK_KEY,
        options={
            "base_url": mock_server.base_url("anthropic"),
            "default_headers": {"x-api-key": FALLBACK_KEY},
        },
    )
    builder = (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key(PRIMARY_KEY)
        .base_url(mock_server.base_url("openai"))
        .option("default_headers", {"authorization": f"Bearer {PRIMARY_KEY}"})
        .production_ready()
        .with_retry(FAST)
        .with_fallbacks([fallback])
        .with_middleware(Keep())
    )
    shown = [_shown(builder, fallback)]
    with builder.build() as client:
        mock_server.push(Scenario(status=503, repeat=2))
        resp = client.chat().user("hi").execute()
        mock_server.push(Scenario(status=400))
        with pytest.raises(RemoteError) as info:
            client.chat().user("hi").execute()
        with client.chat().user("a b").stream() as stream:
            list(stream)
        ctx = stream.context
        shown.append(_shown(client, client.pipeline, *client.pipeline.layers, resp, info.value))
        shown.append(_shown(ctx, ctx.target, *ctx.hops, *seen, *[c.call for c in seen]))
        shown.append(_shown(client.get_resilience_stats(), stream))
    text = "\n".join(shown)
    assert "SECRET" not in text


# ---- a stream opened, then dropped unread and unclosed (review) -----------------------------


def test_a_dropped_open_stream_gives_back_its_place_sync(mock_server: MockServer) -> None:
    builder = sync_builder(mock_server).max_inflight(1, queue_timeout_seconds=0.5)
    with builder.build() as client:
        stream = client.chat().user("a b").stream()
        stream.__enter__()  # opened (headers arrived), never read, never closed
        assert client.current_inflight == 1
        context = stream.context
        del stream
        assert client.current_inflight == 0 and context.closed_early
        assert client.chat().user("next").execute().content == "echo: next"


async def test_a_dropped_open_stream_gives_back_its_place_async(mock_server: MockServer) -> None:
    builder = async_builder(mock_server).max_inflight(1, queue_timeout_seconds=0.5)
    async with await builder.build() as client:
        stream = client.chat().user("a b").stream()
        await stream.__aenter__()
        assert client.current_inflight == 1
        context = stream.context
        del stream
        for _ in range(10):  # the close is scheduled on the stream's loop
            await asyncio.sleep(0)
        assert client.current_inflight == 0 and context.closed_early
        assert (await client.chat().user("next").execute()).content == "echo: next"


def test_a_fallback_with_its_own_url_never_gets_the_primary_key(
    mock_server: MockServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    with MockServer() as other:
        target = FallbackTarget("openai/gpt-4o-mini", base_url=other.base_url("openai"))
        builder = sync_builder(mock_server).with_retry(FAST).with_fallbacks([target])
        with builder.build() as client:
            mock_server.push(Scenario(status=503, repeat=2))
            assert client.chat().user("hi").execute().served_by == "openai/gpt-4o-mini"
        assert other.requests[-1].headers["authorization"] == "Bearer sk-from-the-environment"


# ---- the total timeout across attempts --------------------------------------------------------


def test_total_timeout_also_ends_the_attempt_in_flight_sync(mock_server: MockServer) -> None:
    import time

    from ailib import TransportError

    config = RetryConfig(max_retries=3, total_timeout_seconds=0.5)
    with sync_builder(mock_server).timeout(30).with_retry(config).build() as client:
        mock_server.push(Scenario(text="late", delay=3.0))
        start = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.chat().user("x").execute()
        assert info.value.code == "E3003"
        assert time.monotonic() - start < 2.5  # not the 3 s the server waits, nor 30 s


async def test_total_timeout_also_ends_the_attempt_in_flight_async(
    mock_server: MockServer,
) -> None:
    import time

    from ailib import TransportError

    config = RetryConfig(max_retries=3, total_timeout_seconds=0.5)
    async with await async_builder(mock_server).timeout(30).with_retry(config).build() as c:
        mock_server.push(Scenario(text="late", delay=3.0))
        start = time.monotonic()
        with pytest.raises(TransportError) as info:
            await c.chat().user("x").execute()
        assert info.value.code == "E3003"
        assert time.monotonic() - start < 2.5


# ---- the limiter follows the rate-limit headers of an error answer ----------------------------

EMPTY_BUDGET = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "30s"}


def test_a_429s_rate_limit_headers_hold_the_next_call_back_sync(mock_server: MockServer) -> None:
    from ailib import RateLimitExceededError

    limit = RateLimiterConfig.from_rps(100, max_wait_seconds=0.5)
    builder = sync_builder(mock_server).with_retry(RetryConfig(max_retries=0))
    with builder.with_rate_limit(limit).build() as client:
        mock_server.push(Scenario(status=429, headers=EMPTY_BUDGET))
        with pytest.raises(RemoteError):
            client.chat().user("x").execute()
        sent = len(mock_server.requests)
        with pytest.raises(RateLimitExceededError):
            client.chat().user("x").execute()
        assert len(mock_server.requests) == sent  # held back: nothing was sent


async def test_a_429s_rate_limit_headers_hold_the_next_call_back_async(
    mock_server: MockServer,
) -> None:
    from ailib import RateLimitExceededError

    limit = RateLimiterConfig.from_rps(100, max_wait_seconds=0.5)
    builder = async_builder(mock_server).with_retry(RetryConfig(max_retries=0))
    async with await builder.with_rate_limit(limit).build() as client:
        mock_server.push(Scenario(status=429, headers=EMPTY_BUDGET))
        with pytest.raises(RemoteError):
            await client.chat().user("x").execute()
        sent = len(mock_server.requests)
        with pytest.raises(RateLimitExceededError):
            await client.chat().user("x").execute()
        assert len(mock_server.requests) == sent
