"""Backpressure over a real Redis: one in-flight budget for every client and OS process,
leases that free a dead process's slots, renewals that keep a long call's slot."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator

import pytest

from ailib.errors import BackpressureError, StateStoreError
from ailib.resilience import BackpressureConfig
from ailib.resilience._async_gates import AsyncBackpressure, AsyncBackpressureLayer
from ailib.resilience._sync_gates import Backpressure, BackpressureLayer
from ailib.resilience.state import RedisStore


@pytest.fixture
def store(redis_url: str, namespace: str) -> Iterator[RedisStore]:
    made = RedisStore(redis_url, namespace=namespace)
    yield made
    made.close()


def config(n: int, timeout: float = 0.0) -> BackpressureConfig:
    return BackpressureConfig(max_inflight=n, queue_timeout_seconds=timeout)


# ---- clients in this process ---------------------------------------------------------------


def test_two_clients_on_one_store_share_max_inflight(store: RedisStore) -> None:
    first, second = Backpressure(config(2), store=store), Backpressure(config(2), store=store)
    a, b = first.acquire(), second.acquire()
    with pytest.raises(BackpressureError) as caught:
        first.acquire()
    assert "max_inflight=2" in str(caught.value)
    assert (first.in_flight, second.in_flight) == (1, 1)  # each counts its own calls
    other = Backpressure(config(2), store=store, name="another-budget")
    other.release(other.acquire())  # another name: another budget
    second.release(b)
    c = first.acquire()
    first.release(a)
    first.release(c)
    assert first.in_flight == 0


def test_a_waiter_gets_the_slot_another_client_frees(store: RedisStore) -> None:
    first, second = Backpressure(config(1), store=store), Backpressure(config(1, 20), store=store)
    held = first.acquire()
    started = time.monotonic()
    timer = threading.Timer(0.3, first.release, args=(held,))
    timer.start()
    slot = second.acquire()  # polls Redis until the slot is free
    assert time.monotonic() - started >= 0.2
    second.release(slot)
    timer.join()


async def test_async_two_clients_share_and_a_cancelled_waiter_keeps_nothing(
    store: RedisStore,
) -> None:
    first = AsyncBackpressure(config(1, 30), store=store)
    second = AsyncBackpressure(config(1, 30), store=store)
    held = await first.acquire()
    waiter = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.1)
    assert second.queued == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (second.in_flight, second.queued) == (0, 0)
    await first.release(held)
    slot = await asyncio.wait_for(second.acquire(), 5)  # free: the waiter took nothing
    with pytest.raises(BackpressureError):
        await AsyncBackpressure(config(1, 0), store=store).acquire()
    await second.release(slot)
    await store.aclose()


async def test_async_layer_over_a_store(store: RedisStore) -> None:
    layer = AsyncBackpressureLayer(config(3), store=store)
    assert layer.describe() == f"backpressure(max_inflight=3, queue 0s, store={store.label})"
    slot = await layer.backpressure.acquire()
    assert layer.current_inflight == 1
    await layer.backpressure.release(slot)
    await store.aclose()


def test_sync_layer_over_a_store_url_hides_its_password(redis_url: str) -> None:
    url = redis_url.replace("redis://", "redis://:pw-secret-1@")
    layer = BackpressureLayer(config(3), store=url)
    assert "store=redis://:***@127.0.0.1:" in layer.describe()
    assert "pw-secret-1" not in layer.describe()


# ---- leases ----------------------------------------------------------------------------------


def test_a_held_slot_is_renewed_past_its_lease(store: RedisStore) -> None:
    holder = Backpressure(config(1), store=store, lease_seconds=0.6)
    other = Backpressure(config(1), store=store)
    slot = holder.acquire()
    time.sleep(1.5)  # more than two leases: only renewals keep it
    with pytest.raises(BackpressureError):
        other.acquire()
    holder.release(slot)
    other.release(other.acquire())


async def test_async_a_held_slot_is_renewed_past_its_lease(store: RedisStore) -> None:
    holder = AsyncBackpressure(config(1), store=store, lease_seconds=0.6)
    other = AsyncBackpressure(config(1), store=store)
    slot = await holder.acquire()
    await asyncio.sleep(1.5)
    with pytest.raises(BackpressureError):
        await other.acquire()
    await holder.release(slot)
    await other.release(await other.acquire())
    await store.aclose()


CRASH = textwrap.dedent(
    """
    import os, sys
    from ailib.resilience import BackpressureConfig
    from ailib.resilience.backpressure import Backpressure
    from ailib.resilience.state import RedisStore

    store = RedisStore(sys.argv[1], namespace=sys.argv[2])
    gate = Backpressure(BackpressureConfig(max_inflight=2, queue_timeout_seconds=0),
                        store=store, lease_seconds=1.0)
    gate.acquire()
    print("holding", flush=True)
    os._exit(0)  # dies without releasing
    """
)


def test_a_dead_process_slot_frees_itself_when_its_lease_ends(
    redis_url: str, namespace: str, store: RedisStore
) -> None:
    alive = Backpressure(config(2), store=store)
    mine = alive.acquire()  # a live process holds the other slot (so the key stays)
    out = subprocess.run(
        [sys.executable, "-c", CRASH, redis_url, namespace],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "holding" in out.stdout
    with pytest.raises(BackpressureError):
        Backpressure(config(2), store=store).acquire()  # the dead process still holds one
    gate = Backpressure(config(2, timeout=20), store=store)
    gate.release(gate.acquire())  # free once its 1 s lease ended
    alive.release(mine)


# ---- two OS processes share one budget -----------------------------------------------------

WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, threading, time
    from ailib.resilience import BackpressureConfig
    from ailib.resilience.backpressure import AsyncBackpressure, Backpressure
    from ailib.resilience.state import RedisStore

    url, namespace, flavour = sys.argv[1], sys.argv[2], sys.argv[3]
    store = RedisStore(url, namespace=namespace)
    config = BackpressureConfig(max_inflight=3, queue_timeout_seconds=60)
    spans = []

    def sync_call(gate):
        for _ in range(3):
            slot = gate.acquire()
            start = time.time()
            time.sleep(0.05)
            spans.append((start, time.time()))
            gate.release(slot)

    async def async_call(gate):
        for _ in range(3):
            slot = await gate.acquire()
            start = time.time()
            await asyncio.sleep(0.05)
            spans.append((start, time.time()))
            await gate.release(slot)

    if flavour == "sync":
        gate = Backpressure(config, store=store)
        threads = [threading.Thread(target=sync_call, args=(gate,)) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
    else:
        async def main():
            gate = AsyncBackpressure(config, store=store)
            await asyncio.gather(*(async_call(gate) for _ in range(4)))
            await store.aclose()
        asyncio.run(main())
    print(json.dumps(spans))
    """
)


def most_at_once(spans: list[tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = peak = 0
    for _, step in edges:  # an end sorts before a start at the same instant
        now += step
        peak = max(peak, now)
    return peak


def test_two_processes_together_never_exceed_max_inflight(redis_url: str, namespace: str) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, redis_url, namespace, flavour],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flavour in ("sync", "async")
    ]
    spans: list[tuple[float, float]] = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
        spans += [tuple(s) for s in json.loads(out.strip().splitlines()[-1])]
    assert len(spans) == 24  # every call got a slot in the end
    assert most_at_once(spans) <= 3


# ---- a store out of reach ------------------------------------------------------------------


def test_a_store_out_of_reach_is_a_typed_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = RedisStore(f"redis://:secretpw@127.0.0.1:{port}/0", socket_timeout=1)
    with pytest.raises(StateStoreError, match="in-flight counter") as caught:
        Backpressure(config(1), store=store).acquire()
    assert "secretpw" not in str(caught.value)
