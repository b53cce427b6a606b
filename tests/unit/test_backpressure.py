"""Backpressure in one process: at most N in flight, a queue with a timeout, streams hold
their slot until they end; sync (threads) and async (tasks) twins."""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from ailib.errors import BackpressureError, RemoteError
from ailib.resilience import BackpressureConfig, ResilienceStats
from ailib.resilience._async_gates import AsyncBackpressure, AsyncBackpressureLayer
from ailib.resilience._sync_gates import Backpressure, BackpressureLayer
from ailib.runtime._async_pipeline import AsyncPipeline, afinish
from ailib.runtime._sync_pipeline import Pipeline, finish
from ailib.runtime.context import CallContext, Stage, Target

FAILURE = RemoteError("upstream down", code="E3001", status=500)


def until(check: Any, seconds: float = 10.0) -> None:
    """Wait (generously: the machine is loaded) until ``check()`` holds."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


async def auntil(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        await asyncio.sleep(0.001)


class Engine:
    spec = SimpleNamespace(id="openai")
    base_url = "http://127.0.0.1:9/v1"

    def __init__(self, outcome: Any = "ok") -> None:
        self.outcome = outcome
        self.seen_in_flight: list[int] = []
        self.gate: Any = None

    def _next(self, ctx: CallContext) -> Any:
        ctx.attempt += 1
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def config(n: int = 1, timeout: float = 0.0) -> BackpressureConfig:
    return BackpressureConfig(max_inflight=n, queue_timeout_seconds=timeout)


# ---- sync: threads -------------------------------------------------------------------------


def test_at_most_n_in_flight_the_next_queues_and_gets_the_freed_slot() -> None:
    stats = ResilienceStats()
    gate = Backpressure(config(2, timeout=30), stats=stats)
    first, second = gate.acquire(), gate.acquire()
    got: list[Any] = []
    waiter = threading.Thread(target=lambda: got.append(gate.acquire()))
    waiter.start()
    until(lambda: stats.snapshot().queued == 1)
    snap = stats.snapshot()
    assert (snap.in_flight, snap.queued, snap.max_inflight) == (2, 1, 2)
    assert got == []
    gate.release(first)
    waiter.join(10)
    assert len(got) == 1
    assert (gate.in_flight, gate.queued) == (2, 0)
    gate.release(second)
    gate.release(got[0])
    gate.release(got[0])  # a second release does nothing
    assert stats.snapshot().in_flight == 0
    assert stats.snapshot().waits_seconds["backpressure"] > 0


def test_no_slot_within_the_queue_timeout_raises_a_typed_error() -> None:
    stats = ResilienceStats()
    gate = Backpressure(config(1, timeout=0.05), stats=stats)
    held = gate.acquire()
    with pytest.raises(BackpressureError) as caught:
        gate.acquire()
    err = caught.value
    assert (err.code, err.retryable, err.fallbackable) == ("E3002", False, False)
    assert err.max_inflight == 1
    assert err.waited >= 0.04
    assert "max_inflight=1" in str(err)
    assert "queue_timeout_seconds=0.05" in str(err)
    snap = stats.snapshot()
    assert (snap.rejected_by_backpressure, snap.in_flight, snap.queued) == (1, 1, 0)
    gate.release(held)
    gate.release(gate.acquire())


def test_a_zero_queue_timeout_refuses_at_once() -> None:
    gate = Backpressure(config(1, timeout=0))
    gate.acquire()
    started = time.monotonic()
    with pytest.raises(BackpressureError):
        gate.acquire()
    assert time.monotonic() - started < 5


class SyncEngine(Engine):
    def attempt(self, ctx: CallContext) -> Any:
        if self.gate is not None:
            self.seen_in_flight.append(self.gate.current_inflight)
        return self._next(ctx)


def sync_rig(n: int = 1, timeout: float = 0.0, outcome: Any = "ok") -> tuple[Any, Any, Any]:
    stats = ResilienceStats()
    layer = BackpressureLayer(config(n, timeout), stats=stats)
    engine = SyncEngine(outcome)
    engine.gate = layer
    return Pipeline([layer]), layer, engine


def test_a_plain_call_holds_its_slot_while_it_runs_and_gives_it_back() -> None:
    pipeline, layer, engine = sync_rig()
    pipeline.run(CallContext("post", Target(engine, "m")))
    engine.outcome = FAILURE
    with pytest.raises(RemoteError):
        pipeline.run(CallContext("post", Target(engine, "m")))
    assert engine.seen_in_flight == [1, 1]
    assert layer.current_inflight == 0


def test_a_stream_holds_its_slot_until_it_ends() -> None:
    pipeline, layer, engine = sync_rig()
    stream = CallContext("stream", Target(engine, "m"))
    pipeline.open(stream)
    assert layer.current_inflight == 1
    with pytest.raises(BackpressureError):
        pipeline.run(CallContext("post", Target(engine, "m")))
    finish(stream)  # ended, failed or closed
    assert layer.current_inflight == 0
    pipeline.run(CallContext("post", Target(engine, "m")))


def test_a_stream_that_fails_to_open_gives_its_slot_back_at_once() -> None:
    pipeline, layer, _engine = sync_rig(outcome=FAILURE)
    with pytest.raises(RemoteError):
        pipeline.open(CallContext("stream", Target(_engine, "m")))
    assert layer.current_inflight == 0


def test_a_stream_reopened_on_another_target_keeps_its_one_slot() -> None:
    pipeline, layer, engine = sync_rig(n=1, timeout=0)
    stream = CallContext("stream", Target(engine, "m"))
    pipeline.open(stream)
    stream.target = Target(engine, "fallback-model")
    pipeline.open(stream)  # max_inflight=1: a second slot would be refused
    assert layer.current_inflight == 1
    finish(stream)
    assert layer.current_inflight == 0


def test_describe_stage_and_gauges() -> None:
    stats = ResilienceStats()
    layer = BackpressureLayer(
        BackpressureConfig(max_inflight=20, queue_timeout_seconds=5), stats=stats
    )
    assert layer.describe() == "backpressure(max_inflight=20, queue 5s)"
    assert layer.stage == Stage.BACKPRESSURE < Stage.RETRY
    assert stats.snapshot().max_inflight == 20
    assert AsyncBackpressureLayer(config()).stage == Stage.BACKPRESSURE


# ---- async: tasks --------------------------------------------------------------------------


async def test_async_at_most_n_in_flight_served_first_come_first_served() -> None:
    stats = ResilienceStats()
    gate = AsyncBackpressure(config(1, timeout=30), stats=stats)
    held = await gate.acquire()
    order: list[str] = []

    async def call(name: str) -> None:
        slot = await gate.acquire()
        order.append(name)
        await gate.release(slot)

    tasks = [asyncio.create_task(call(name)) for name in "abc"]
    await auntil(lambda: stats.snapshot().queued == 3)
    assert stats.snapshot().in_flight == 1
    await gate.release(held)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c"]
    assert (gate.in_flight, gate.queued) == (0, 0)


async def test_async_queue_timeout_raises_a_typed_error() -> None:
    stats = ResilienceStats()
    gate = AsyncBackpressure(config(1, timeout=0.05), stats=stats)
    held = await gate.acquire()
    with pytest.raises(BackpressureError) as caught:
        await gate.acquire()
    assert caught.value.code == "E3002"
    assert caught.value.waited >= 0.04
    assert "max_inflight=1" in str(caught.value)
    assert stats.snapshot().rejected_by_backpressure == 1
    await gate.release(held)
    await gate.release(await gate.acquire())


async def test_a_cancelled_waiter_does_not_keep_a_slot() -> None:
    gate = AsyncBackpressure(config(1, timeout=30))
    held = await gate.acquire()
    waiter = asyncio.create_task(gate.acquire())
    await auntil(lambda: gate.queued == 1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (gate.in_flight, gate.queued) == (1, 0)
    await gate.release(held)
    again = await asyncio.wait_for(gate.acquire(), 5)  # the slot is free again at once
    assert gate._slots.in_use == 1  # type: ignore[union-attr]
    await gate.release(again)
    assert gate._slots.in_use == 0  # type: ignore[union-attr]


async def test_a_waiter_cancelled_just_as_it_was_handed_a_slot_passes_it_on() -> None:
    gate = AsyncBackpressure(config(1, timeout=30))
    held = await gate.acquire()
    first = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await auntil(lambda: gate.queued == 2)
    await gate.release(held)  # handed to `first`, which has not run yet...
    first.cancel()  # ...and is cancelled before it does
    with pytest.raises(asyncio.CancelledError):
        await first
    slot = await asyncio.wait_for(second, 5)
    assert gate.in_flight == 1
    await gate.release(slot)
    assert gate._slots.in_use == 0  # type: ignore[union-attr]


class AsyncEngine(Engine):
    async def attempt(self, ctx: CallContext) -> Any:
        if self.gate is not None:
            self.seen_in_flight.append(self.gate.current_inflight)
        if isinstance(self.outcome, asyncio.Event):
            await self.outcome.wait()
            return "ok"
        return self._next(ctx)


def async_rig(n: int = 1, timeout: float = 0.0, outcome: Any = "ok") -> tuple[Any, Any, Any]:
    layer = AsyncBackpressureLayer(config(n, timeout), stats=ResilienceStats())
    engine = AsyncEngine(outcome)
    engine.gate = layer
    return AsyncPipeline([layer]), layer, engine


async def test_async_a_plain_call_gives_its_slot_back_on_return_raise_and_cancel() -> None:
    pipeline, layer, engine = async_rig()
    await pipeline.run(CallContext("post", Target(engine, "m")))
    engine.outcome = FAILURE
    with pytest.raises(RemoteError):
        await pipeline.run(CallContext("post", Target(engine, "m")))
    engine.outcome = asyncio.Event()  # a call that hangs until cancelled
    task = asyncio.create_task(pipeline.run(CallContext("post", Target(engine, "m"))))
    await auntil(lambda: layer.current_inflight == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert engine.seen_in_flight == [1, 1, 1]
    assert layer.current_inflight == 0


async def test_async_a_stream_holds_its_slot_until_it_ends() -> None:
    pipeline, layer, engine = async_rig()
    stream = CallContext("stream", Target(engine, "m"))
    await pipeline.open(stream)
    assert layer.current_inflight == 1
    with pytest.raises(BackpressureError):
        await pipeline.run(CallContext("post", Target(engine, "m")))
    stream.closed_early = True
    await afinish(stream)
    assert layer.current_inflight == 0
    await pipeline.run(CallContext("post", Target(engine, "m")))


async def test_async_a_stream_that_fails_to_open_gives_its_slot_back() -> None:
    pipeline, layer, engine = async_rig(outcome=FAILURE)
    with pytest.raises(RemoteError):
        await pipeline.open(CallContext("stream", Target(engine, "m")))
    assert layer.current_inflight == 0


async def test_async_a_stream_reopened_on_another_target_keeps_its_one_slot() -> None:
    pipeline, layer, engine = async_rig(n=1, timeout=0)
    stream = CallContext("stream", Target(engine, "m"))
    await pipeline.open(stream)
    stream.target = Target(engine, "fallback-model")
    await pipeline.open(stream)
    assert layer.current_inflight == 1
    await afinish(stream)
    assert layer.current_inflight == 0


def test_a_huge_wait_for_a_slot_is_no_overflow() -> None:
    from ailib.resilience.backpressure import LocalSlots

    slots = LocalSlots(1)
    assert slots.try_acquire("a")
    freed = threading.Timer(0.05, slots.release, args=("a",))
    freed.start()
    assert slots.acquire("b", 1e308)  # waits for the freed slot, not an OverflowError
    freed.join()


# ---- the client's view: current_inflight and the snapshot agree -------------------------------


def test_a_clients_in_flight_count_agrees_with_its_snapshot(mock_server: Any) -> None:
    from ailib import AiClient
    from ailib.testing.scenario import Scenario

    def build(*limit: int) -> AiClient:
        builder = (
            AiClient.builder()
            .model("openai/gpt-4o")
            .api_key("sk-test")
            .base_url(mock_server.base_url("openai"))
        )
        return (
            builder.max_inflight(*limit, queue_timeout_seconds=30) if limit else builder
        ).build()

    with build() as plain:  # no backpressure layer: the signals still know
        mock_server.push(Scenario(text="a b c", chunk_delay=0.05))
        stream = plain.chat().user("x").stream()
        events = iter(stream)  # kept: a dropped iterator closes the stream
        next(events)
        snap = plain.get_resilience_stats()
        assert plain.current_inflight == snap.in_flight == 1
        stream.close()
        assert plain.current_inflight == plain.get_resilience_stats().in_flight == 0
    with build(1) as capped:  # a queued call is counted as queued, not in flight
        mock_server.push(Scenario(text="a b c", chunk_delay=0.05))
        stream = capped.chat().user("x").stream()
        events = iter(stream)
        next(events)
        waiter = threading.Thread(target=lambda: capped.chat().user("y").execute())
        waiter.start()
        until(lambda: capped.get_resilience_stats().queued == 1)
        snap = capped.get_resilience_stats()
        assert capped.current_inflight == snap.in_flight == 1
        stream.close()
        waiter.join(30)
        snap = capped.get_resilience_stats()
        assert (snap.in_flight, snap.queued, capped.current_inflight) == (0, 0, 0)


async def test_a_clients_in_flight_count_agrees_with_its_snapshot_async(mock_server: Any) -> None:
    from ailib import AsyncAiClient
    from ailib.testing.scenario import Scenario

    client = await (
        AsyncAiClient.builder()
        .model("openai/gpt-4o")
        .api_key("sk-test")
        .base_url(mock_server.base_url("openai"))
        .build()
    )
    async with client:
        mock_server.push(Scenario(text="a b c", chunk_delay=0.05))
        stream = client.chat().user("x").stream()
        await stream.__aiter__().__anext__()
        assert client.current_inflight == client.get_resilience_stats().in_flight == 1
        await stream.aclose()
        assert client.current_inflight == client.get_resilience_stats().in_flight == 0
