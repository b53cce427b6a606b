"""The breaker layer in a pipeline, sync and async twins: nothing is sent while open,
only provider failures count, streams settle when they end."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from ailib.errors import AiLibError, CircuitOpenError, RemoteError, StreamInterruptedError
from ailib.resilience import CircuitBreakerConfig, CircuitState, MemoryStore, ResilienceStats
from ailib.resilience._async_breaker_layer import AsyncBreakerLayer
from ailib.resilience._async_retry import AsyncRetryLayer
from ailib.resilience._sync_breaker_layer import BreakerLayer
from ailib.resilience._sync_retry import RetryLayer
from ailib.resilience.retry_policy import RetryPolicy
from ailib.runtime._async_pipeline import AsyncPipeline, afinish
from ailib.runtime._sync_pipeline import Pipeline, finish
from ailib.runtime.context import CallContext, Stage, Target

SERVER_ERROR = RemoteError("upstream down", code="E3001", status=500)
BAD_REQUEST = RemoteError("bad field", code="E1001", status=400)
UNAUTHORIZED = RemoteError("bad key", code="E1002", status=401)
OK = ({"ok": True}, {})


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class Engine:
    """A stand-in engine: each attempt takes the next outcome (an error raises)."""

    spec = SimpleNamespace(id="openai")
    base_url = "http://127.0.0.1:9/v1"
    retry_policy = RetryPolicy(
        max_retries=5,
        min_delay=0.0,
        max_delay=0.0,
        jitter="none",
        statuses=frozenset({429, 500, 503}),
        max_retry_after=0.0,
    )

    def __init__(self, outcome: Any = OK) -> None:
        self.outcome = outcome
        self.sent = 0

    def _next(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        self.sent += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def attempt(self, ctx: CallContext) -> Any:
        return self._next(ctx)


class AsyncEngine(Engine):
    async def attempt(self, ctx: CallContext) -> Any:  # type: ignore[override]
        return self._next(ctx)


class LocalGate:
    """A per-attempt gate inside the breaker that refuses without sending."""

    stage = Stage.RATE_LIMIT

    def describe(self) -> str:
        return "gate"

    def handle(self, ctx: CallContext, call_next: Callable[[CallContext], Any]) -> Any:
        raise AiLibError("rate limit: no room within 0s", code="E2001")


class AsyncLocalGate(LocalGate):
    async def handle(self, ctx: CallContext, call_next: Callable[[CallContext], Any]) -> Any:  # type: ignore[override]
        raise AiLibError("rate limit: no room within 0s", code="E2001")


def config(**fields: Any) -> CircuitBreakerConfig:
    return CircuitBreakerConfig(**{"failure_threshold": 3, "cooldown_seconds": 30, **fields})


def run(pipeline: Pipeline, engine: Engine, op: str = "post") -> CallContext:
    ctx = CallContext(op, Target(engine, "gpt-4o"))
    with contextlib.suppress(AiLibError):
        pipeline.run(ctx)
    return ctx


async def arun(pipeline: AsyncPipeline, engine: Engine, op: str = "post") -> CallContext:
    ctx = CallContext(op, Target(engine, "gpt-4o"))
    with contextlib.suppress(AiLibError):
        await pipeline.run(ctx)
    return ctx


KEY = Target(Engine(), "gpt-4o").key


# ---- describe -----------------------------------------------------------------------------


def test_describe_names_the_settings() -> None:
    layer = BreakerLayer(CircuitBreakerConfig())
    assert layer.describe() == "circuit_breaker(threshold=5, cooldown=30s)"
    assert repr(Pipeline([layer])) == (
        "Pipeline(per attempt: circuit_breaker(threshold=5, cooldown=30s) -> engine)"
    )
    ratio = AsyncBreakerLayer(CircuitBreakerConfig(failure_ratio=0.5, cooldown_seconds=2.5))
    assert ratio.describe() == (
        "circuit_breaker(threshold=5, cooldown=2.5s, ratio=0.5 over 60s (min 10))"
    )
    assert ratio.stage == Stage.CIRCUIT_BREAKER


def test_describe_names_a_shared_store_without_its_password() -> None:
    pytest.importorskip("redis")
    layer = BreakerLayer(None, "redis://:pw123456@127.0.0.1:6390/0")
    assert "store=redis://:***@127.0.0.1:6390/0" in layer.describe()
    assert "pw123456" not in layer.describe()


# ---- failures open it; nothing is sent while open ----------------------------------------


def test_failures_open_it_and_then_nothing_is_sent() -> None:
    stats = ResilienceStats()
    engine = Engine(SERVER_ERROR)
    pipeline = Pipeline([BreakerLayer(config(), MemoryStore(), stats)])
    for _ in range(3):
        assert isinstance(run(pipeline, engine).error, RemoteError)
    ctx = run(pipeline, engine)
    assert isinstance(ctx.error, CircuitOpenError) and ctx.error.breaker_key == KEY
    assert engine.sent == 3
    assert stats.snapshot().rejected_by_breaker == 1
    assert stats.snapshot().breaker_states == {KEY: "open"}


async def test_failures_open_it_and_then_nothing_is_sent_async() -> None:
    stats = ResilienceStats()
    engine = AsyncEngine(SERVER_ERROR)
    pipeline = AsyncPipeline([AsyncBreakerLayer(config(), MemoryStore(), stats)])
    for _ in range(3):
        assert isinstance((await arun(pipeline, engine)).error, RemoteError)
    ctx = await arun(pipeline, engine)
    assert isinstance(ctx.error, CircuitOpenError) and ctx.error.breaker_key == KEY
    assert engine.sent == 3
    assert stats.snapshot().rejected_by_breaker == 1


def test_it_recovers_through_a_probe() -> None:
    clock = Clock()
    layer = BreakerLayer(config(), clock=clock)
    engine = Engine(SERVER_ERROR)
    pipeline = Pipeline([layer])
    for _ in range(3):
        run(pipeline, engine)
    clock.now += 30
    engine.outcome = OK
    assert run(pipeline, engine).error is None
    assert layer.state(KEY) is CircuitState.CLOSED and engine.sent == 4


async def test_it_recovers_through_a_probe_async() -> None:
    clock = Clock()
    layer = AsyncBreakerLayer(config(), clock=clock)
    engine = AsyncEngine(SERVER_ERROR)
    pipeline = AsyncPipeline([layer])
    for _ in range(3):
        await arun(pipeline, engine)
    assert layer.cached_state(KEY) is CircuitState.OPEN
    clock.now += 30
    engine.outcome = OK
    assert (await arun(pipeline, engine)).error is None
    assert await layer.state(KEY) is CircuitState.CLOSED and engine.sent == 4


# ---- what does not count -------------------------------------------------------------------


@pytest.mark.parametrize("error", [BAD_REQUEST, UNAUTHORIZED])
def test_non_retryable_errors_do_not_trip_it(error: RemoteError) -> None:
    layer = BreakerLayer(config(failure_threshold=1))
    engine = Engine(error)
    for _ in range(5):
        assert run(Pipeline([layer]), engine).error is error
    assert layer.state(KEY) is CircuitState.CLOSED and engine.sent == 5


@pytest.mark.parametrize("error", [BAD_REQUEST, UNAUTHORIZED])
async def test_non_retryable_errors_do_not_trip_it_async(error: RemoteError) -> None:
    layer = AsyncBreakerLayer(config(failure_threshold=1))
    engine = AsyncEngine(error)
    for _ in range(5):
        assert (await arun(AsyncPipeline([layer]), engine)).error is error
    assert await layer.state(KEY) is CircuitState.CLOSED and engine.sent == 5


def test_a_local_gate_refusing_inside_does_not_count() -> None:
    layer = BreakerLayer(config(failure_threshold=1))
    engine = Engine()
    for _ in range(3):
        assert "rate limit" in str(run(Pipeline([layer, LocalGate()]), engine).error)
    assert layer.state(KEY) is CircuitState.CLOSED and engine.sent == 0


async def test_a_local_gate_refusing_inside_does_not_count_async() -> None:
    layer = AsyncBreakerLayer(config(failure_threshold=1))
    engine = AsyncEngine()
    for _ in range(3):
        assert "rate limit" in str(
            (await arun(AsyncPipeline([layer, AsyncLocalGate()]), engine)).error
        )
    assert await layer.state(KEY) is CircuitState.CLOSED and engine.sent == 0


def test_successes_between_failures_keep_it_closed() -> None:
    layer = BreakerLayer(config())
    engine = Engine()
    for outcome in (SERVER_ERROR, SERVER_ERROR, OK, SERVER_ERROR, SERVER_ERROR, OK):
        engine.outcome = outcome
        run(Pipeline([layer]), engine)
    assert layer.state(KEY) is CircuitState.CLOSED


# ---- under retry ---------------------------------------------------------------------------


def test_retries_stop_when_it_opens() -> None:
    stats = ResilienceStats()
    engine = Engine(SERVER_ERROR)
    pipeline = Pipeline([RetryLayer(stats=stats), BreakerLayer(config(), stats=stats)])
    ctx = run(pipeline, engine)
    assert isinstance(ctx.error, CircuitOpenError)  # not retryable: retrying stops
    assert engine.sent == 3
    assert stats.snapshot().rejected_by_breaker == 1


async def test_retries_stop_when_it_opens_async() -> None:
    stats = ResilienceStats()
    engine = AsyncEngine(SERVER_ERROR)
    pipeline = AsyncPipeline(
        [AsyncRetryLayer(stats=stats), AsyncBreakerLayer(config(), stats=stats)]
    )
    ctx = await arun(pipeline, engine)
    assert isinstance(ctx.error, CircuitOpenError)
    assert engine.sent == 3


# ---- streams ---------------------------------------------------------------------------------


def open_stream(pipeline: Pipeline, engine: Engine) -> CallContext:
    ctx = CallContext("stream", Target(engine, "gpt-4o"))
    pipeline.open(ctx)
    return ctx


async def aopen_stream(pipeline: AsyncPipeline, engine: Engine) -> CallContext:
    ctx = CallContext("stream", Target(engine, "gpt-4o"))
    await pipeline.open(ctx)
    return ctx


def test_a_stream_counts_when_it_ends_not_when_it_opens() -> None:
    layer = BreakerLayer(config(failure_threshold=2))
    pipeline, engine = Pipeline([layer]), Engine()
    first, second = open_stream(pipeline, engine), open_stream(pipeline, engine)
    for ctx in (first, second):
        ctx.first_event_sent = True
        ctx.error = StreamInterruptedError("reset mid-stream")
    finish(first)
    assert layer.state(KEY) is CircuitState.CLOSED
    finish(second)
    assert layer.state(KEY) is CircuitState.OPEN


async def test_a_stream_counts_when_it_ends_not_when_it_opens_async() -> None:
    layer = AsyncBreakerLayer(config(failure_threshold=2))
    pipeline, engine = AsyncPipeline([layer]), AsyncEngine()
    first, second = await aopen_stream(pipeline, engine), await aopen_stream(pipeline, engine)
    for ctx in (first, second):
        ctx.first_event_sent = True
        ctx.error = StreamInterruptedError("reset mid-stream")
    await afinish(first)
    assert await layer.state(KEY) is CircuitState.CLOSED
    await afinish(second)
    assert await layer.state(KEY) is CircuitState.OPEN


def test_a_stream_closed_early_is_not_a_failure() -> None:
    clock = Clock()
    layer = BreakerLayer(config(failure_threshold=1), clock=clock)
    pipeline, engine = Pipeline([layer]), Engine(SERVER_ERROR)
    run(pipeline, engine, "stream")  # the opening failed: counts at once
    assert layer.state(KEY) is CircuitState.OPEN
    clock.now += 30
    engine.outcome = OK
    ctx = open_stream(pipeline, engine)  # the probe
    ctx.closed_early, ctx.first_event_sent = True, True
    finish(ctx)
    assert layer.state(KEY) is CircuitState.CLOSED


async def test_a_stream_closed_early_is_not_a_failure_async() -> None:
    clock = Clock()
    layer = AsyncBreakerLayer(config(failure_threshold=1), clock=clock)
    pipeline, engine = AsyncPipeline([layer]), AsyncEngine(SERVER_ERROR)
    await arun(pipeline, engine, "stream")
    assert await layer.state(KEY) is CircuitState.OPEN
    clock.now += 30
    engine.outcome = OK
    ctx = await aopen_stream(pipeline, engine)
    ctx.closed_early = True  # before any event: neither a success nor a failure
    await afinish(ctx)
    assert await layer.state(KEY) is CircuitState.HALF_OPEN
    ctx = await aopen_stream(pipeline, engine)  # its slot is free again
    await afinish(ctx)
    assert await layer.state(KEY) is CircuitState.CLOSED


def test_the_layer_accepts_a_store_url() -> None:
    layer = BreakerLayer(config(), "memory://")
    assert isinstance(layer.store, MemoryStore)
