"""The rate limiter over a real Redis (through the `limits` package): clients and OS
processes sharing one store share one budget, sync and async."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from ailib.errors import RateLimitExceededError, StateStoreError
from ailib.resilience import RateLimiterConfig, ResilienceStats
from ailib.resilience._async_gates import AsyncRateLimiter, AsyncRateLimitLayer
from ailib.resilience._sync_gates import RateLimiter, RateLimitLayer
from ailib.resilience.limiter import PROVIDER_LIMIT
from ailib.resilience.state import RedisStore
from ailib.runtime._async_pipeline import AsyncPipeline
from ailib.runtime._sync_pipeline import Pipeline
from ailib.runtime.context import CallContext, Target

pytest.importorskip("limits")

KEY = "openai|http://127.0.0.1:9/v1|gpt-4o"


@pytest.fixture
def store(redis_url: str, namespace: str) -> Iterator[RedisStore]:
    made = RedisStore(redis_url, namespace=namespace)
    yield made
    made.close()


def rpm(n: int, **fields: Any) -> RateLimiterConfig:
    return RateLimiterConfig(requests_per_minute=n, **{"max_wait_seconds": 0, **fields})


# ---- two clients in this process, one store ------------------------------------------------


def test_two_limiters_on_one_store_share_the_budget(store: RedisStore) -> None:
    first, second = RateLimiter(rpm(3), store=store), RateLimiter(rpm(3), store=store)
    first.acquire(KEY)
    first.acquire(KEY)
    second.acquire(KEY)
    for limiter in (first, second):
        with pytest.raises(RateLimitExceededError) as caught:
            limiter.acquire(KEY)
        assert caught.value.limit == "requests_per_minute"
    second.acquire("another|target|model")  # its own budget


async def test_async_two_limiters_on_one_store_share_the_budget(store: RedisStore) -> None:
    first = AsyncRateLimiter(rpm(3), store=store)
    second = AsyncRateLimiter(rpm(3), store=store)
    await first.acquire(KEY)
    await second.acquire(KEY)
    await second.acquire(KEY)
    with pytest.raises(RateLimitExceededError):
        await first.acquire(KEY)
    sync_view = RateLimiter(rpm(3), store=store)  # sync and async clients share it too
    with pytest.raises(RateLimitExceededError):
        sync_view.acquire(KEY)


def test_token_charges_are_corrected_in_the_shared_budget(store: RedisStore) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    first, second = RateLimiter(config, store=store), RateLimiter(config, store=store)
    grant = first.acquire(KEY, tokens=600)
    with pytest.raises(RateLimitExceededError) as caught:
        second.acquire(KEY, tokens=600)
    assert caught.value.limit == "tokens_per_minute"
    first.settle(grant, 100)  # used far fewer: refunded for everyone
    more = second.acquire(KEY, tokens=600)
    second.settle(more, 900)  # used more: charged for everyone (100 + 900)
    with pytest.raises(RateLimitExceededError):
        first.acquire(KEY, tokens=1)


async def test_async_token_correction_and_provider_holds_are_shared(store: RedisStore) -> None:
    config = RateLimiterConfig(tokens_per_minute=1000, max_wait_seconds=0)
    first = AsyncRateLimiter(config, store=store)
    second = AsyncRateLimiter(config, store=store)
    grant = await first.acquire(KEY, tokens=700)
    await first.settle(grant, 50)
    await second.acquire(KEY, tokens=700)
    await first.hold_off("held|target|m", 30, "x-ratelimit-remaining-requests = 0")
    with pytest.raises(RateLimitExceededError) as caught:
        await second.acquire("held|target|m")
    assert caught.value.limit == PROVIDER_LIMIT
    assert caught.value.retry_after is not None
    assert 25 < caught.value.retry_after <= 30


def test_a_provider_hold_reaches_every_client(store: RedisStore) -> None:
    first, second = RateLimiter(rpm(100), store=store), RateLimiter(rpm(100), store=store)
    first.hold_off(KEY, 20, "x-ratelimit-remaining-requests = 0")
    first.hold_off(KEY, 5, "a shorter hold does not cut it")
    with pytest.raises(RateLimitExceededError) as caught:
        second.acquire(KEY)
    assert caught.value.limit == PROVIDER_LIMIT
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 15


# ---- the layer over Redis ------------------------------------------------------------------


class Engine:
    spec = SimpleNamespace(id="openai", manifest=SimpleNamespace(rate_limit_headers={}))
    base_url = "http://127.0.0.1:9/v1"

    def attempt(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        return {}, {}


class AsyncEngine(Engine):
    async def attempt(self, ctx: CallContext) -> Any:  # type: ignore[override]
        return super().attempt(ctx)


def test_the_layer_over_a_store_url_shares_its_budget(redis_url: str, namespace: str) -> None:
    store = RedisStore(redis_url, namespace=namespace)
    stats = ResilienceStats()
    layers = [RateLimitLayer(rpm(2), stats=stats, store=store) for _ in range(2)]
    assert f"per target, store={store.label})" in layers[0].describe()
    engine = Engine()
    Pipeline([layers[0]]).run(CallContext("post", Target(engine, "gpt-4o"), payload={}))
    Pipeline([layers[1]]).run(CallContext("post", Target(engine, "gpt-4o"), payload={}))
    with pytest.raises(RateLimitExceededError):
        Pipeline([layers[0]]).run(CallContext("post", Target(engine, "gpt-4o"), payload={}))
    assert stats.snapshot().rate_limited == 1
    store.close()


async def test_async_the_layer_over_a_store_shares_its_budget(store: RedisStore) -> None:
    layers = [AsyncRateLimitLayer(rpm(1), store=store) for _ in range(2)]
    engine = AsyncEngine()
    await AsyncPipeline([layers[0]]).run(CallContext("post", Target(engine, "m"), payload={}))
    with pytest.raises(RateLimitExceededError):
        await AsyncPipeline([layers[1]]).run(CallContext("post", Target(engine, "m"), payload={}))


# ---- a store out of reach ------------------------------------------------------------------


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_a_store_out_of_reach_is_a_typed_error_naming_it() -> None:
    store = RedisStore(closed_port_url(), socket_timeout=1)
    with pytest.raises(StateStoreError, match=r"state store redis://127\.0\.0\.1:\d+/0"):
        RateLimiter(rpm(5), store=store).acquire(KEY)


async def test_async_a_store_out_of_reach_is_a_typed_error() -> None:
    store = RedisStore(closed_port_url(), socket_timeout=1)
    with pytest.raises(StateStoreError, match="rate limiter"):
        await AsyncRateLimiter(rpm(5), store=store).acquire(KEY)


# ---- two OS processes share one limit -----------------------------------------------------

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys
    from ailib.errors import RateLimitExceededError
    from ailib.resilience import RateLimiterConfig
    from ailib.resilience.limiter import AsyncRateLimiter, RateLimiter
    from ailib.resilience.state import RedisStore

    url, namespace, flavour, tries = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = RedisStore(url, namespace=namespace)
    config = RateLimiterConfig(requests_per_minute=20, max_wait_seconds=0)
    key = "openai|http://127.0.0.1:9/v1|gpt-4o"

    def run_sync():
        limiter, ok = RateLimiter(config, store=store), 0
        for _ in range(tries):
            try:
                limiter.acquire(key)
                ok += 1
            except RateLimitExceededError:
                pass
        return ok

    async def run_async():
        limiter, ok = AsyncRateLimiter(config, store=store), 0
        for _ in range(tries):
            try:
                await limiter.acquire(key)
                ok += 1
            except RateLimitExceededError:
                pass
        await store.aclose()
        return ok

    ok = run_sync() if flavour == "sync" else asyncio.run(run_async())
    print(json.dumps({"granted": ok}))
    """
)


def test_two_processes_together_never_exceed_the_shared_limit(
    redis_url: str, namespace: str
) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, namespace, flavour, "30"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flavour in ("sync", "async")
    ]
    granted = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        granted.append(json.loads(out.strip().splitlines()[-1])["granted"])
    assert sum(granted) == 20  # 60 tries, a budget of 20 a minute: exactly 20 let through
