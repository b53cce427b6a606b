"""The rate limit layer in a pipeline, sync and async twins (a fake clock: no real waiting).

Waits up to max_wait_seconds then a typed error; tokens charged from an estimate and
corrected from usage; the provider's headers and 429s hold the target back.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import pytest

from ailib.dialects import ChatRequest
from ailib.errors import RateLimitExceededError, RemoteError
from ailib.resilience import RateLimiterConfig, ResilienceStats
from ailib.resilience._async_gates import AsyncRateLimiter, AsyncRateLimitLayer
from ailib.resilience._sync_gates import RateLimiter, RateLimitLayer
from ailib.resilience.limiter import PROVIDER_LIMIT, RESPONSE_HEADERS
from ailib.runtime._async_pipeline import AsyncPipeline, afinish
from ailib.runtime._sync_pipeline import Pipeline, finish
from ailib.runtime.context import CallContext, Stage, Target
from ailib.types.messages import Message
from ailib.types.response import ChatResponse, Usage

HEADER_NAMES = {
    "requests_remaining": "x-ratelimit-remaining-requests",
    "requests_reset": "x-ratelimit-reset-requests",
    "retry_after": "retry-after",
}
MODES = ["sync", "async"]


class Clock:
    """Monotonic seconds that move only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 50.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class Engine:
    """A stand-in engine: each attempt returns (or raises) the next outcome."""

    spec = SimpleNamespace(id="openai", manifest=SimpleNamespace(rate_limit_headers=HEADER_NAMES))
    base_url = "http://127.0.0.1:9/v1"

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)
        self.sent = 0

    def _next(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        self.sent += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, BaseException):
            raise outcome
        if callable(outcome):
            return outcome(ctx)
        return outcome


class SyncEngine(Engine):
    def attempt(self, ctx: CallContext) -> Any:
        return self._next(ctx)


class AsyncEngine(Engine):
    async def attempt(self, ctx: CallContext) -> Any:
        return self._next(ctx)


class Rig:
    """A pipeline with one rate limit layer, in either flavour, on a fake clock."""

    def __init__(self, mode: str, config: RateLimiterConfig, *outcomes: Any, **layer: Any) -> None:
        self.mode = mode
        self.clock = Clock()
        self.stats = ResilienceStats()
        if mode == "sync":
            limiter: Any = RateLimiter(config, clock=self.clock, sleep=self.clock.sleep)
            self.layer: Any = RateLimitLayer(config, stats=self.stats, limiter=limiter, **layer)
            self.pipeline: Any = Pipeline([self.layer])
            self.engine: Engine = SyncEngine(*outcomes)
        else:
            limiter = AsyncRateLimiter(config, clock=self.clock, sleep=self.clock.asleep)
            self.layer = AsyncRateLimitLayer(config, stats=self.stats, limiter=limiter, **layer)
            self.pipeline = AsyncPipeline([self.layer])
            self.engine = AsyncEngine(*outcomes)

    def ctx(self, op: str = "chat", max_tokens: int | None = None) -> CallContext:
        params = {} if max_tokens is None else {"max_tokens": max_tokens}
        request = ChatRequest("gpt-4o", [Message.user("hi there")], params=params)
        if op == "post":
            return CallContext("post", Target(self.engine, "gpt-4o"), payload={"input": "x"})
        return CallContext(op, Target(self.engine, "gpt-4o"), request=request)

    async def run(self, ctx: CallContext | None = None) -> Any:
        ctx = ctx or self.ctx()
        return await maybe(self.pipeline.run(ctx))

    async def open(self, ctx: CallContext) -> Any:
        return await maybe(self.pipeline.open(ctx))

    async def finish(self, ctx: CallContext) -> None:
        await maybe(finish(ctx) if self.mode == "sync" else afinish(ctx))


async def maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def answer(total: int = 0) -> ChatResponse:
    return ChatResponse("ok", usage=Usage(total_tokens=total))


# ---- waiting, then a typed error ---------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_a_call_waits_for_room_and_the_wait_is_recorded(mode: str) -> None:
    rig = Rig(mode, RateLimiterConfig.from_rps(1, max_wait_seconds=5), answer())
    await rig.run()
    await rig.run()
    await rig.run()
    assert rig.engine.sent == 3
    assert rig.clock.slept == [pytest.approx(1.0), pytest.approx(1.0)]
    snap = rig.stats.snapshot()
    assert snap.rate_limited == 2
    assert snap.waits_seconds["rate_limit"] == pytest.approx(2.0)


@pytest.mark.parametrize("mode", MODES)
async def test_no_room_within_max_wait_raises_at_once_and_sends_nothing(mode: str) -> None:
    rig = Rig(mode, RateLimiterConfig.from_rpm(2, max_wait_seconds=10), answer())
    await rig.run()
    await rig.run()
    with pytest.raises(RateLimitExceededError) as caught:
        await rig.run()
    err = caught.value
    assert rig.engine.sent == 2  # nothing sent for the refused call
    assert rig.clock.slept == []  # it did not wait for nothing
    assert (err.code, err.retryable, err.fallbackable) == ("E2001", False, True)
    assert err.limit == "requests_per_minute"
    assert err.retry_after == pytest.approx(60.0)
    assert "requests_per_minute" in str(err)
    assert "max_wait_seconds=10" in str(err)
    assert rig.stats.snapshot().rate_limited == 1


@pytest.mark.parametrize("mode", MODES)
async def test_budgets_are_per_target(mode: str) -> None:
    rig = Rig(mode, RateLimiterConfig.from_rpm(1, max_wait_seconds=0), answer())
    await rig.run()
    other = rig.ctx()
    other.target = Target(rig.engine, "gpt-4o-mini")
    await rig.run(other)  # another model: its own budget
    with pytest.raises(RateLimitExceededError):
        await rig.run()


# ---- tokens: estimated, then corrected from usage ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_token_charges_are_corrected_from_the_usage(mode: str) -> None:
    # each call is estimated at 2 + 500 tokens but uses 100: after the correction five fit
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    rig = Rig(mode, config, answer(total=100))
    for _ in range(5):
        await rig.run(rig.ctx(max_tokens=500))
    with pytest.raises(RateLimitExceededError) as caught:
        await rig.run(rig.ctx(max_tokens=500))
    assert caught.value.limit == "tokens_per_minute"


@pytest.mark.parametrize("mode", MODES)
async def test_the_estimate_stays_when_usage_is_unknown_and_the_estimator_is_replaceable(
    mode: str,
) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    seen: list[str] = []

    def estimator(ctx: CallContext) -> int:
        seen.append(ctx.operation)
        return 400

    rig = Rig(mode, config, answer(total=0), estimator=estimator)
    await rig.run()
    await rig.run()
    with pytest.raises(RateLimitExceededError):
        await rig.run()
    assert seen == ["chat", "chat", "chat"]


@pytest.mark.parametrize("mode", MODES)
async def test_an_error_answer_gives_the_tokens_back(mode: str) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    failure = RemoteError("upstream down", code="E3001", status=500)
    rig = Rig(mode, config, failure, answer(total=600), estimator=lambda ctx: 600)
    with pytest.raises(RemoteError):
        await rig.run()
    await rig.run()  # the failed call's 600 were refunded
    assert rig.engine.sent == 2


@pytest.mark.parametrize("mode", MODES)
async def test_embeddings_usage_corrects_the_charge(mode: str) -> None:
    config = RateLimiterConfig(tokens_per_minute=100, max_wait_seconds=0)
    rig = Rig(mode, config, ({"usage": {"total_tokens": 10}}, {}), estimator=lambda ctx: 60)
    for _ in range(5):  # 10 each after the correction
        await rig.run(rig.ctx("post"))


# ---- adaptive: the provider's headers and 429s -------------------------------------------


def exhausted(reset: str = "2s") -> tuple[dict[str, Any], dict[str, str]]:
    return {}, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": reset}


@pytest.mark.parametrize("mode", MODES)
async def test_headers_saying_nothing_remains_hold_the_target_until_the_reset(mode: str) -> None:
    rig = Rig(mode, RateLimiterConfig(max_wait_seconds=5), exhausted("2s"), ({}, {}))
    await rig.run(rig.ctx("post"))
    await rig.run(rig.ctx("post"))
    assert rig.clock.slept == [pytest.approx(2.0)]
    assert rig.engine.sent == 2


@pytest.mark.parametrize("mode", MODES)
async def test_a_reset_beyond_max_wait_fails_fast_naming_the_provider_limit(mode: str) -> None:
    rig = Rig(mode, RateLimiterConfig(max_wait_seconds=5), exhausted("6m0s"))
    await rig.run(rig.ctx("post"))
    with pytest.raises(RateLimitExceededError) as caught:
        await rig.run(rig.ctx("post"))
    assert caught.value.limit == PROVIDER_LIMIT
    assert "x-ratelimit-remaining-requests = 0" in str(caught.value)
    assert caught.value.retry_after == pytest.approx(360.0)
    assert rig.engine.sent == 1


@pytest.mark.parametrize("mode", MODES)
async def test_not_adaptive_ignores_the_headers(mode: str) -> None:
    config = RateLimiterConfig(max_wait_seconds=5, adaptive=False)
    rig = Rig(mode, config, exhausted("2s"))
    await rig.run(rig.ctx("post"))
    await rig.run(rig.ctx("post"))
    assert rig.clock.slept == []
    assert "adaptive" not in rig.layer.describe()


@pytest.mark.parametrize("mode", MODES)
async def test_chat_headers_left_in_the_context_are_followed(mode: str) -> None:
    def chat(ctx: CallContext) -> ChatResponse:
        ctx.metadata[RESPONSE_HEADERS] = exhausted("1.5s")[1]
        return answer()

    rig = Rig(mode, RateLimiterConfig(max_wait_seconds=5), chat)
    await rig.run()
    await rig.run()
    assert rig.clock.slept == [pytest.approx(1.5)]


@pytest.mark.parametrize("mode", MODES)
async def test_a_429_with_retry_after_holds_the_target_back(mode: str) -> None:
    limited = RemoteError("slow down", code="E2001", status=429, retry_after=3.0)
    rig = Rig(mode, RateLimiterConfig(max_wait_seconds=5), limited, answer())
    with pytest.raises(RemoteError):
        await rig.run()
    await rig.run()
    assert rig.clock.slept == [pytest.approx(3.0)]


# ---- streams settle when they end --------------------------------------------------------


class Opened:
    headers: dict[str, str] = {}  # noqa: RUF012


@pytest.mark.parametrize("mode", MODES)
async def test_a_stream_is_corrected_from_its_final_usage(mode: str) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    rig = Rig(mode, config, Opened(), estimator=lambda ctx: 600)
    ctx = rig.ctx("stream")
    await rig.open(ctx)
    ctx.response = answer(total=50)
    await rig.finish(ctx)
    await rig.open(rig.ctx("stream"))  # 50 + 600 fits: corrected when the stream ended


@pytest.mark.parametrize("mode", MODES)
async def test_a_stream_replaced_by_a_later_attempt_keeps_its_charge(mode: str) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    rig = Rig(mode, config, Opened(), estimator=lambda ctx: 600)
    ctx = rig.ctx("stream")
    await rig.open(ctx)
    ctx.attempt += 1  # a retry took over before the first event
    ctx.response = answer(total=50)
    await rig.finish(ctx)
    with pytest.raises(RateLimitExceededError):
        await rig.open(rig.ctx("stream"))


def test_describe_and_stage() -> None:
    layer = RateLimitLayer(RateLimiterConfig(requests_per_second=10, tokens_per_minute=90_000))
    assert layer.describe() == "rate_limit(10/s, 90000 tokens/min, adaptive, per target)"
    assert layer.stage == Stage.RATE_LIMIT
    assert AsyncRateLimitLayer(RateLimiterConfig.from_rpm(60)).stage == Stage.RATE_LIMIT
    assert "rate_limit(60/min" in repr(
        AsyncPipeline([AsyncRateLimitLayer(RateLimiterConfig.from_rpm(60))])
    )


# ---- the real manifests, through a client (the loopback mock server) ----------------------


OPENAI_EXHAUSTED = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s"}


def test_openai_rate_limit_headers_hold_the_next_call_back(mock_server: Any) -> None:
    from ailib import AiClient
    from ailib.testing.scenario import Scenario

    config = RateLimiterConfig.from_rps(100, max_wait_seconds=0.05)
    client = (
        AiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(mock_server.base_url("openai"))
        .with_rate_limit(config)
        .build()
    )
    with client:
        mock_server.push(Scenario(text="hi", headers=OPENAI_EXHAUSTED))
        assert client.chat().user("a").execute().content == "hi"
        with pytest.raises(RateLimitExceededError) as caught:
            client.chat().user("b").execute()
    assert caught.value.limit == PROVIDER_LIMIT
    assert "x-ratelimit-reset-requests" in str(caught.value)
    assert len(mock_server.requests) == 1  # the held call was not sent


async def test_anthropic_rate_limit_headers_hold_the_next_stream_back_async(
    mock_server: Any,
) -> None:
    import datetime

    from ailib import AsyncAiClient
    from ailib.testing.scenario import Scenario

    reset = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=30)
    headers = {
        "anthropic-ratelimit-tokens-remaining": "0",
        "anthropic-ratelimit-tokens-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    config = RateLimiterConfig.from_rps(100, max_wait_seconds=0.05)
    client = await (
        AsyncAiClient.builder()
        .model("anthropic/claude-sonnet-4-5")
        .api_key("ak-test")
        .base_url(mock_server.base_url("anthropic"))
        .with_rate_limit(config)
        .build()
    )
    async with client:
        mock_server.push(Scenario(text="hi", headers=headers))
        stream = client.chat().user("a").stream()
        assert [e async for e in stream]
        with pytest.raises(RateLimitExceededError) as caught:
            await client.chat().user("b").execute()
    assert "anthropic-ratelimit-tokens-reset" in str(caught.value)
    assert len(mock_server.requests) == 1
