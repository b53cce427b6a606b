"""The request pipeline itself: order of layers, the outcome hooks, repr, retry layer.

Driven with a fake engine (no HTTP): ``attempt(ctx)`` answers from a script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ailib.errors import RemoteError, TransportError
from ailib.resilience._async_retry import AsyncRetryLayer
from ailib.resilience._sync_retry import RetryLayer
from ailib.resilience.retry_policy import RetryConfig, RetryPolicy
from ailib.resilience.signals import ResilienceStats
from ailib.runtime._async_pipeline import AsyncPipeline
from ailib.runtime._sync_pipeline import Pipeline
from ailib.runtime.context import CallContext, Stage, Target

POLICY = {
    "max_retries": 3,
    "min_delay_ms": 1,
    "max_delay_ms": 2,
    "jitter": "none",
    "retry_on_http_status": [429, 500, 503],
}


class Spec:
    id = "fake"


class FakeEngine:
    """Answers each attempt with the next item of ``script`` (an exception is raised)."""

    spec = Spec()
    base_url = "http://127.0.0.1:1"

    def __init__(self, script: list[Any]) -> None:
        self.script: Iterator[Any] = iter(script)
        self.retry_policy = RetryPolicy.from_manifest(POLICY)
        self.attempts = 0

    def prepare(self, req: Any) -> Any:
        return req

    def _next(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        self.attempts += 1
        item = next(self.script)
        if isinstance(item, BaseException):
            raise item
        return item


class SyncFake(FakeEngine):
    def attempt(self, ctx: CallContext) -> Any:
        return self._next(ctx)


class AsyncFake(FakeEngine):
    async def attempt(self, ctx: CallContext) -> Any:
        await asyncio.sleep(0)
        return self._next(ctx)


class Recorder:
    """A layer that records when it runs."""

    def __init__(self, name: str, stage: int, log: list[str]) -> None:
        self.name, self.stage, self.log = name, stage, log

    def describe(self) -> str:
        return self.name

    def handle(self, ctx: CallContext, call_next: Any) -> Any:
        self.log.append(f"{self.name}>")
        result = call_next(ctx)
        self.log.append(f"<{self.name}")
        return result


class AsyncRecorder(Recorder):
    async def handle(self, ctx: CallContext, call_next: Any) -> Any:  # type: ignore[override]
        self.log.append(f"{self.name}>")
        result = await call_next(ctx)
        self.log.append(f"<{self.name}")
        return result


def overloaded() -> RemoteError:
    return RemoteError("busy", code="E3002", status=503)


def test_layers_run_in_stage_order_whatever_order_they_were_given() -> None:
    log: list[str] = []
    layers = [
        Recorder("breaker", Stage.CIRCUIT_BREAKER, log),
        Recorder("plugins", Stage.PLUGINS, log),
        Recorder("fallback", Stage.FALLBACK, log),
    ]
    pipeline = Pipeline(layers)
    ctx = CallContext("chat", Target(SyncFake(["ok"]), "m"))
    assert pipeline.run(ctx) == "ok"
    assert log == ["plugins>", "fallback>", "breaker>", "<breaker", "<fallback", "<plugins"]


async def test_layers_run_in_stage_order_async() -> None:
    log: list[str] = []
    layers = [
        AsyncRecorder("breaker", Stage.CIRCUIT_BREAKER, log),
        AsyncRecorder("plugins", Stage.PLUGINS, log),
    ]
    ctx = CallContext("chat", Target(AsyncFake(["ok"]), "m"))
    assert await AsyncPipeline(layers).run(ctx) == "ok"
    assert log == ["plugins>", "breaker>", "<breaker", "<plugins"]


def test_repr_lists_per_call_and_per_attempt_layers() -> None:
    log: list[str] = []
    pipeline = Pipeline(
        [RetryLayer(RetryConfig(max_retries=5)), Recorder("fallback[b/m]", Stage.FALLBACK, log)]
    )
    assert repr(pipeline) == (
        "Pipeline(per call: fallback[b/m]; per attempt: retry(max_retries=5) -> engine)"
    )
    assert repr(AsyncPipeline()) == "AsyncPipeline(per attempt: engine)"


def test_outcome_hooks_run_once_with_the_result_and_the_error() -> None:
    seen: list[tuple[Any, Any]] = []
    ok = CallContext("chat", Target(SyncFake(["answer"]), "m"))
    ok.when_done(lambda c: seen.append((c.result, c.error)))
    Pipeline().run(ok)
    failing = CallContext("chat", Target(SyncFake([overloaded()]), "m"))
    failing.when_done(lambda c: seen.append((c.result, c.error)))
    with pytest.raises(RemoteError):
        Pipeline().run(failing)
    assert seen[0] == ("answer", None)
    assert seen[1][0] is None and isinstance(seen[1][1], RemoteError)
    ok.when_done(lambda c: seen.append(("late", None)))  # after the outcome: runs at once
    assert seen[-1] == ("late", None)


async def test_async_outcome_hooks_may_be_coroutines() -> None:
    seen: list[str] = []

    async def hook(ctx: CallContext) -> None:
        await asyncio.sleep(0)
        seen.append(str(ctx.result))

    ctx = CallContext("chat", Target(AsyncFake(["answer"]), "m"))
    ctx.when_done(hook)
    await AsyncPipeline().run(ctx)
    assert seen == ["answer"]


def test_a_failing_hook_does_not_skip_the_others_and_fails_the_call() -> None:
    seen: list[str] = []

    def bad(_ctx: CallContext) -> None:
        raise ValueError("hook broke")

    ctx = CallContext("chat", Target(SyncFake(["answer"]), "m"))
    ctx.when_done(bad)
    ctx.when_done(lambda c: seen.append("second"))
    with pytest.raises(ValueError, match="hook broke"):
        Pipeline().run(ctx)
    assert seen == ["second"]


def test_retry_layer_retries_retryable_errors_and_counts_them() -> None:
    stats = ResilienceStats()
    engine = SyncFake([overloaded(), TransportError("reset"), "ok"])
    ctx = CallContext("chat", Target(engine, "m"))
    assert Pipeline([RetryLayer(stats=stats)]).run(ctx) == "ok"
    assert engine.attempts == 3 and ctx.attempt == 3 and ctx.retries == 2
    assert stats.snapshot().retries == 2


async def test_retry_layer_retries_async() -> None:
    engine = AsyncFake([overloaded(), "ok"])
    ctx = CallContext("chat", Target(engine, "m"))
    assert await AsyncPipeline([AsyncRetryLayer()]).run(ctx) == "ok"
    assert engine.attempts == 2 and ctx.retries == 1


@pytest.mark.parametrize("asynchronous", [False, True])
def test_retry_stops_after_max_retries_with_the_last_error(asynchronous: bool) -> None:
    errors = [overloaded() for _ in range(10)]
    config = RetryConfig(max_retries=2, min_delay_ms=1, max_delay_ms=1)
    if asynchronous:
        engine: FakeEngine = AsyncFake(errors)
        ctx = CallContext("chat", Target(engine, "m"))
        with pytest.raises(RemoteError) as info:
            asyncio.run(AsyncPipeline([AsyncRetryLayer(config)]).run(ctx))
    else:
        engine = SyncFake(errors)
        ctx = CallContext("chat", Target(engine, "m"))
        with pytest.raises(RemoteError) as info:
            Pipeline([RetryLayer(config)]).run(ctx)
    assert info.value is errors[2]
    assert engine.attempts == 3 and ctx.retries == 2


def test_retry_never_retries_a_non_retryable_error() -> None:
    bad = RemoteError("no", code="E1001", status=400)
    engine = SyncFake([bad, "ok"])
    with pytest.raises(RemoteError):
        Pipeline([RetryLayer()]).run(CallContext("chat", Target(engine, "m")))
    assert engine.attempts == 1


def test_retry_total_timeout_stops_before_a_wait_that_would_pass_it() -> None:
    engine = SyncFake([RemoteError("slow down", code="E2001", status=429, retry_after=5), "ok"])
    config = RetryConfig(total_timeout_seconds=1.0, max_delay_ms=10_000)
    with pytest.raises(RemoteError):
        Pipeline([RetryLayer(config)]).run(CallContext("chat", Target(engine, "m")))
    assert engine.attempts == 1  # a 5 s Retry-After does not fit in a 1 s total


def test_retry_config_refuses_bad_values() -> None:
    from ailib.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_retries"):
        RetryConfig(max_retries=-1)
    with pytest.raises(ConfigurationError, match="jitter"):
        RetryConfig(jitter="sometimes")
    with pytest.raises(ConfigurationError, match="min_delay_ms"):
        RetryConfig(min_delay_ms=float("nan"))


def test_retry_config_overrides_the_manifest_policy() -> None:
    policy = RetryPolicy.from_manifest(POLICY).with_config(
        RetryConfig(max_retries=7, max_delay_ms=30_000, retry_on_http_status=(529,))
    )
    assert policy.max_retries == 7 and policy.max_delay == 30.0
    assert policy.should_retry(RemoteError("x", code="E3002", status=529))
    assert not policy.should_retry(RemoteError("x", code="E3002", status=503))


# ---- retry: hostile settings and jitter -----------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_delay_ms": float("inf")}, "max_delay_ms"),
        ({"min_delay_ms": 1e300}, "min_delay_ms"),
        ({"max_retry_after_seconds": float("inf")}, "max_retry_after_seconds"),
        ({"total_timeout_seconds": 1e308}, "total_timeout_seconds"),
        ({"retry_on_http_status": "429"}, "retry_on_http_status"),
        ({"retry_on_http_status": 429}, "retry_on_http_status"),
        ({"retry_on_http_status": [429.0]}, "retry_on_http_status"),
        ({"retry_on_http_status": ["503"]}, "retry_on_http_status"),
        ({"retry_on_http_status": [True]}, "retry_on_http_status"),
        ({"retry_on_http_status": [42]}, "retry_on_http_status"),
    ],
)
def test_retry_config_refuses_values_that_would_hang_or_never_match(
    fields: dict[str, Any], named: str
) -> None:
    from ailib.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=rf"RetryConfig\.{named}"):
        RetryConfig(**fields)
    assert RetryConfig(retry_on_http_status=[429, 503]).retry_on_http_status == (429, 503)


def test_a_late_retry_waits_the_cap_rather_than_overflowing() -> None:
    policy = RetryPolicy.from_manifest({**POLICY, "jitter": "full"}, RetryConfig(max_retries=5000))
    assert policy.delay(TransportError("reset"), 5000) <= policy.max_delay
    assert policy.delay(None, 1100) <= policy.max_delay


def test_full_jitter_spreads_even_the_first_retry() -> None:
    policy = RetryPolicy.from_manifest(
        {**POLICY, "jitter": "full", "min_delay_ms": 500, "max_delay_ms": 30_000}
    )
    first = {round(policy.delay(TransportError("reset"), 2), 6) for _ in range(50)}
    assert len(first) > 10  # many clients failing at once do not all come back together
    assert all(0.5 <= d <= 1.0 for d in first)  # never below the policy's minimum
    exact = attrs_evolve(policy, jitter="none")
    assert [exact.delay(None, n) for n in (2, 3, 4)] == [0.5, 1.0, 2.0]


def attrs_evolve(policy: RetryPolicy, **changes: Any) -> RetryPolicy:
    import attrs

    return attrs.evolve(policy, **changes)
