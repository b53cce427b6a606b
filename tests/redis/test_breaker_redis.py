"""One circuit breaker shared through a real Redis: by clients, and by OS processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

from ailib.errors import CircuitOpenError, RemoteError
from ailib.resilience import CircuitBreakerConfig, CircuitState, RedisStore, ResilienceStats
from ailib.resilience._async_breaker_layer import AsyncBreakerLayer
from ailib.resilience._sync_breaker_layer import BreakerLayer
from ailib.resilience.breaker import Outcome
from ailib.runtime._async_pipeline import AsyncPipeline
from ailib.runtime._sync_pipeline import Pipeline
from ailib.runtime.context import CallContext, Target

ENGINE = SimpleNamespace(spec=SimpleNamespace(id="openai"), base_url="http://127.0.0.1:9/v1")
KEY = Target(ENGINE, "gpt-4o").key


class Engine:
    spec = ENGINE.spec
    base_url = ENGINE.base_url

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.sent = 0

    def attempt(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        self.sent += 1
        if self.error is not None:
            raise self.error
        return {"ok": True}, {}


class AsyncEngine(Engine):
    async def attempt(self, ctx: CallContext) -> Any:  # type: ignore[override]
        return Engine.attempt(self, ctx)


def config(threshold: int = 3) -> CircuitBreakerConfig:
    return CircuitBreakerConfig(failure_threshold=threshold, cooldown_seconds=60)


def test_two_clients_share_one_breaker(redis_url: str, namespace: str) -> None:
    failing = Engine(RemoteError("down", code="E3001", status=503))
    healthy = Engine()
    one = Pipeline([BreakerLayer(config(), RedisStore(redis_url, namespace=namespace))])
    stats = ResilienceStats()
    other_layer = BreakerLayer(config(), RedisStore(redis_url, namespace=namespace), stats)
    other = Pipeline([other_layer])
    for _ in range(3):
        with pytest.raises(RemoteError):
            one.run(CallContext("post", Target(failing, "gpt-4o")))
    with pytest.raises(CircuitOpenError) as info:
        other.run(CallContext("post", Target(healthy, "gpt-4o")))
    assert info.value.breaker_key == KEY and 59 < info.value.retry_after <= 60
    assert healthy.sent == 0
    assert other_layer.state(KEY) is CircuitState.OPEN
    assert stats.snapshot().breaker_states == {KEY: "open"}


async def test_two_clients_share_one_breaker_async(redis_url: str, namespace: str) -> None:
    failing = AsyncEngine(RemoteError("down", code="E3001", status=503))
    healthy = AsyncEngine()
    one = AsyncPipeline([AsyncBreakerLayer(config(), RedisStore(redis_url, namespace=namespace))])
    store = RedisStore(redis_url, namespace=namespace)
    other_layer = AsyncBreakerLayer(config(), store)
    for _ in range(3):
        with pytest.raises(RemoteError):
            await one.run(CallContext("post", Target(failing, "gpt-4o")))
    with pytest.raises(CircuitOpenError):
        await AsyncPipeline([other_layer]).run(CallContext("post", Target(healthy, "gpt-4o")))
    assert healthy.sent == 0
    assert await other_layer.state(KEY) is CircuitState.OPEN
    await other_layer.reset(KEY)
    assert await other_layer.state(KEY) is CircuitState.CLOSED
    await store.aclose()


async def test_probes_are_limited_across_clients(redis_url: str, namespace: str) -> None:
    now = [1_700_000_000.0]
    layers = [
        AsyncBreakerLayer(
            config(1), RedisStore(redis_url, namespace=namespace), clock=lambda: now[0]
        )
        for _ in range(3)
    ]
    await layers[0].release(await layers[0].acquire(KEY), Outcome.FAILURE)
    now[0] += 60
    probe = await layers[1].acquire(KEY)
    assert probe.probe
    for layer in (layers[0], layers[2]):
        with pytest.raises(CircuitOpenError):
            await layer.acquire(KEY)
    await layers[1].release(probe, Outcome.SUCCESS)
    assert await layers[2].state(KEY) is CircuitState.CLOSED


# ---- separate OS processes ---------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from types import SimpleNamespace
    from ailib.errors import CircuitOpenError, RemoteError
    from ailib.resilience import CircuitBreakerConfig, RedisStore
    from ailib.resilience._async_breaker_layer import AsyncBreakerLayer
    from ailib.resilience._sync_breaker_layer import BreakerLayer
    from ailib.runtime._async_pipeline import AsyncPipeline
    from ailib.runtime._sync_pipeline import Pipeline
    from ailib.runtime.context import CallContext, Target

    url, namespace, mode, calls, threshold = sys.argv[1:6]

    class Engine:
        spec = SimpleNamespace(id="openai")
        base_url = "http://127.0.0.1:9/v1"
        sent = 0
        def attempt(self, ctx):
            ctx.attempt += 1
            Engine.sent += 1
            if mode != "healthy":
                raise RemoteError("down", code="E3001", status=503)
            return {"ok": True}, {}

    class AsyncEngine(Engine):
        async def attempt(self, ctx):
            return Engine.attempt(self, ctx)

    config = CircuitBreakerConfig(failure_threshold=int(threshold), cooldown_seconds=60)
    store = RedisStore(url, namespace=namespace)
    errors = []

    async def run_async():
        pipeline = AsyncPipeline([AsyncBreakerLayer(config, store)])
        for _ in range(int(calls)):
            try:
                await pipeline.run(CallContext("post", Target(AsyncEngine(), "gpt-4o")))
            except (RemoteError, CircuitOpenError) as err:
                errors.append(err)
        await store.aclose()

    if mode == "fail-async":
        asyncio.run(run_async())
    else:
        pipeline = Pipeline([BreakerLayer(config, store)])
        for _ in range(int(calls)):
            try:
                pipeline.run(CallContext("post", Target(Engine(), "gpt-4o")))
            except (RemoteError, CircuitOpenError) as err:
                errors.append(err)
    print(json.dumps({
        "sent": Engine.sent,
        "errors": [type(e).__name__ for e in errors],
        "breaker_key": next((e.breaker_key for e in errors if isinstance(e, CircuitOpenError)), None),
    }))
    """
)


def _start(
    redis_url: str, namespace: str, mode: str, calls: int, threshold: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, redis_url, namespace, mode, str(calls), str(threshold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def test_failures_in_one_process_open_the_breaker_the_other_sees(
    redis_url: str, namespace: str
) -> None:
    failing = _result(_start(redis_url, namespace, "fail-async", 3, 3))
    assert failing == {"sent": 3, "errors": ["RemoteError"] * 3, "breaker_key": None}
    other = _result(_start(redis_url, namespace, "healthy", 2, 3))
    assert other == {"sent": 0, "errors": ["CircuitOpenError"] * 2, "breaker_key": KEY}
    layer = BreakerLayer(config(), RedisStore(redis_url, namespace=namespace))
    assert layer.state(KEY) is CircuitState.OPEN


def test_processes_failing_at_once_lose_no_count(redis_url: str, namespace: str) -> None:
    # 2 x 300 failures against a threshold of 600: it opens only if every failure counted
    runs = [_start(redis_url, namespace, mode, 300, 600) for mode in ("fail", "fail-async")]
    results = [_result(run) for run in runs]
    assert [r["sent"] for r in results] == [300, 300]
    layer = BreakerLayer(config(600), RedisStore(redis_url, namespace=namespace))
    assert layer.state(KEY) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError):
        layer.acquire(KEY)
